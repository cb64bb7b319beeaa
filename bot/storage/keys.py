"""The key that user-id hashes are made with, kept away from the data it protects.

The database stores user ids only as keyed hashes (HMAC). Whoever holds a copy
of the data folder but not the key cannot test a candidate id against them;
whoever holds both can. So the key comes from ``QUOTEBOT_USER_HASH_KEY``, or
from a file readable by its owner only (0600) that is never in the folder of
the database: by default in the user's configuration folder
(``$XDG_CONFIG_HOME/quotebot/user-hash.key``, else
``~/.config/quotebot/user-hash.key``), made on first use. A key that an older
quotebot left beside the database is moved there on first start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from bot import messages
from bot.errors import ConfigError

log = logging.getLogger(__name__)

KEY_FILE_NAME = "user-hash.key"


def default_key_file(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/quotebot/user-hash.key``, else ``~/.config/quotebot/user-hash.key``."""
    env = os.environ if env is None else env
    config = env.get("XDG_CONFIG_HOME", "").strip()
    if config and Path(config).is_absolute():  # the XDG spec: ignore a relative one
        return Path(config) / "quotebot" / KEY_FILE_NAME
    try:
        home = Path.home()
    except RuntimeError:  # no HOME and no user entry (some containers)
        raise ConfigError(messages.USER_HASH_KEY_NO_HOME) from None
    return home / ".config" / "quotebot" / KEY_FILE_NAME


def key_for_database(key_file: Path, database: Path) -> bytes:
    """The key in ``key_file`` for the SQLite file ``database``, made or moved there if needed.

    ``key_file`` may not be in the database's folder. A key found there (where
    quotebot kept it before) is moved to ``key_file`` with one log line.
    """
    folder = database.parent
    if _same_folder(key_file.parent, folder):
        raise ConfigError(messages.USER_HASH_KEY_BESIDE_DATABASE.format(path=key_file))
    adopt_key(folder / KEY_FILE_NAME, key_file)
    return load_or_create_key(key_file)


def adopt_key(old: Path, new: Path) -> None:
    """Move the key in ``old`` to ``new``; nothing when there is no ``old``.

    When ``new`` already holds another key, stop: the hashes in the database were
    made with one of them, and only the operator knows which.
    """
    try:
        key = _read(old)
    except FileNotFoundError:  # also when the database's folder is a file: the store says so
        return
    try:
        existing = _read(new)
    except FileNotFoundError:
        _create(new, key.decode())
        existing = _read(new)  # another process may have moved its own copy first
    if existing != key:
        raise ConfigError(messages.USER_HASH_KEY_CONFLICT.format(old=old, new=new))
    try:
        old.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(_unusable(old, exc)) from None
    log.warning(messages.USER_HASH_KEY_MOVED.format(old=old, new=new))


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``; a new random one is written there (mode 0600) when it is missing.

    Two processes starting at once agree on one key: the file appears whole,
    by a hard link of a finished temporary file, and the loser reads the winner's.
    """
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    _create(path, secrets.token_hex(32))
    return _read(path)


def _create(path: Path, key: str) -> None:
    """Write ``key`` to ``path`` (0600, its new folders 0700) unless a file is already there."""
    try:
        _make_folders(path.parent)
        temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(key + "\n")
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(temp, path)
        finally:
            temp.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(_unusable(path, exc)) from None


def _make_folders(folder: Path) -> None:
    """Create ``folder`` and any missing parents, each readable by its owner only."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            made.mkdir(mode=0o700)


def _same_folder(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _unusable(path: Path, exc: OSError) -> str:
    return messages.USER_HASH_KEY_UNUSABLE.format(path=path, reason=exc.strerror or exc)


def _read(path: Path) -> bytes:
    """The key in ``path``; FileNotFoundError when there is none, else ConfigError."""
    try:
        key = path.read_text(encoding="ascii").strip()
    except (UnicodeDecodeError, IsADirectoryError):
        key = ""
    except PermissionError:
        raise ConfigError(messages.USER_HASH_KEY_UNREADABLE.format(path=path)) from None
    except FileNotFoundError:
        raise
    except OSError as exc:  # a file where a folder should be, a disk error…
        if isinstance(exc, NotADirectoryError):
            raise FileNotFoundError(str(path)) from None
        raise ConfigError(_unusable(path, exc)) from None
    if not key:
        raise ConfigError(messages.USER_HASH_KEY_UNREADABLE.format(path=path))
    if path.stat().st_mode & 0o077:
        # A key file others can read defeats its purpose; tighten it.
        os.chmod(path, 0o600)
    return key.encode()
