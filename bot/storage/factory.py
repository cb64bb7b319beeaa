"""Opening a store from its URL, and the URL safe to show."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot import messages
from bot.errors import ConfigError
from bot.storage.base import Store
from bot.storage.records import Policy

log = logging.getLogger(__name__)

BACKENDS = ("sqlite", "postgresql")


def open_store(
    url: str | None,
    *,
    sqlite_path: Path | str = Path(".quotebot/feedback.sqlite3"),
    user_hash_key: str = "",
    key_file: Path | None = None,
    policy: Policy | None = None,
    clock: Callable[[], float] | None = None,
    pool_size: int = 10,
    wait: bool = False,
) -> Store:
    """Open (creating and migrating when needed) the store that ``url`` names.

    ``url`` empty or None means the SQLite file ``sqlite_path``. The user-id
    hash key is ``user_hash_key`` when given, else the 0600 file ``key_file``
    (default: :func:`~bot.storage.keys.default_key_file`, in the user's
    configuration folder), made on first use; never a file in the SQLite
    database's folder. PostgreSQL is shared by replicas, which must share the
    key too: it needs ``user_hash_key`` or an explicit ``key_file``.

    A PostgreSQL database that does not answer raises :class:`StorageError`, or
    with ``wait`` gives a store that refuses every call as busy until it answers
    (then migrates it); either way a running store rides out outages by itself.
    """
    from bot.storage import keys

    url = (url or "").strip()
    policy = policy or Policy()
    if not url:
        path = Path(sqlite_path)
    elif url.startswith("sqlite:///") and url.removeprefix("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
    elif url.startswith(("postgresql://", "postgres://")):
        path = None
    else:
        raise ConfigError(messages.DATABASE_URL_INVALID.format(url=redact(url)))
    key = user_hash_key.encode() if user_hash_key else b""
    if path is not None:
        from bot.storage.sqlite import SQLiteStore

        key = key or keys.key_for_database(key_file or keys.default_key_file(), path)
        return SQLiteStore(path, key=key, policy=policy, clock=clock)
    from bot.storage.postgres import PostgresStore

    if not key:
        if key_file is None:
            # A random key per machine would split every user in two across replicas.
            before = Path(sqlite_path).parent / keys.KEY_FILE_NAME
            if before.is_file():
                raise ConfigError(messages.USER_HASH_KEY_REQUIRED_BEFORE.format(path=before))
            raise ConfigError(messages.USER_HASH_KEY_REQUIRED)
        made = not key_file.exists()
        key = keys.load_or_create_key(key_file)
        if made:
            log.warning(messages.USER_HASH_KEY_MADE_FOR_SHARED.format(path=key_file))
    return PostgresStore(url, key=key, policy=policy, clock=clock, pool_size=pool_size, wait=wait)


def redact(url: str) -> str:
    """``url`` without its password (in the user part or the query), for messages and logs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        netloc = f"{credentials.split(':', 1)[0]}@{host}"
    query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="*")))
