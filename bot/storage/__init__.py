"""Shared state: answers, votes, seen platform events, cooldown windows and the last answer
in each chat thread, behind one interface.

Two backends with the same behaviour:

* SQLite, a file on this machine: the default, right for one bot process (or a
  few on one machine).
* PostgreSQL, for replicas on several machines: every process pointed at one
  database behaves as one bot (an event retried to another replica is answered
  once, buttons work on any replica, a user's cooldown counts everywhere).

``open_store(url, ...)`` picks the backend from the URL
(``sqlite:///relative/path``, ``sqlite:////absolute/path`` or
``postgresql://user@host:port/db``), creates or migrates the schema, and
returns a :class:`Store`. The schema is versioned and migrated by quotebot
itself (``quotebot db upgrade``, also run when a store opens).

Privacy: the question and quotes of an answer are kept only as long as its
buttons need them (``answer_ttl_seconds``) unless someone votes on it; rows
older than ``retention_seconds`` are deleted; user ids are stored as keyed
hashes whose key never lives in the database (see :mod:`bot.storage.keys`).
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot import messages
from bot.answers import Answer, Quote
from bot.errors import ConfigError, StorageError

__all__ = [
    "BACKENDS",
    "DOWN",
    "EVENT_TTL_SECONDS",
    "Policy",
    "Purged",
    "Rated",
    "StorageError",
    "Store",
    "UP",
    "Vote",
    "open_store",
    "redact",
]

log = logging.getLogger(__name__)

UP = "up"
DOWN = "down"
BACKENDS = ("sqlite", "postgresql")
DEFAULT_COLLECTION = "default"
# Slack retries an unacknowledged event for a few minutes; an hour is ample.
EVENT_TTL_SECONDS = 3600.0


@dataclass(frozen=True)
class Vote:
    time: float
    platform: str
    question: str
    quote_ids: tuple[str, ...]
    user_hash: str
    vote: str


@dataclass(frozen=True)
class Rated:
    """An answer someone voted on, with its votes (time and direction; never who voted)."""

    answer_id: str
    platform: str
    collection: str
    question: str
    created: float
    answer: Answer | None  # None for a row stored before answers were kept whole
    votes: tuple[tuple[float, str], ...]  # (time, "up" or "down"), oldest first

    @property
    def ups(self) -> int:
        return sum(v == UP for _, v in self.votes)

    @property
    def downs(self) -> int:
        return sum(v == DOWN for _, v in self.votes)


@dataclass(frozen=True)
class Policy:
    """How long rows are kept.

    ``answer_ttl_seconds``: an answer nobody voted on is deleted this long after
    it was shown (its buttons then say "too old"). ``retention_seconds``: every
    row older than this is deleted, votes included; 0 keeps voted answers forever.
    """

    answer_ttl_seconds: float = 24 * 3600.0
    retention_seconds: float = 90 * 86400.0


@dataclass(frozen=True)
class Purged:
    """What one :meth:`Store.purge` deleted."""

    answers: int = 0
    votes: int = 0
    events: int = 0
    cooldowns: int = 0


class Store(ABC):
    """The state every replica shares. Thread-safe; methods block, so call them off the event loop.

    Errors reaching the database raise :class:`StorageError` (safe to show users).
    """

    backend: str  # "sqlite" or "postgresql"
    where: str  # the file, or the URL without its password: for messages and logs
    upgraded_from: int  # the schema version found when the store was opened

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`StorageError` unless the database answers a query now."""

    @abstractmethod
    def upgrade(self) -> tuple[int, int]:
        """Apply the migrations this database lacks; returns (version before, version after)."""

    @abstractmethod
    def schema_version(self) -> int:
        """The newest migration applied (0 for an empty database)."""

    @abstractmethod
    def hash_user(self, platform: str, user_id: str) -> str:
        """The keyed hash stored in place of a user id."""

    @abstractmethod
    def remember(
        self, answer: Answer, platform: str, *, collection: str = DEFAULT_COLLECTION
    ) -> None:
        """Record an answer being shown, so its buttons work on any replica."""

    @abstractmethod
    def answer(self, answer_id: str) -> Answer | None:
        """The answer shown under ``answer_id``; None when unknown or already deleted."""

    @abstractmethod
    def remember_thread(self, platform: str, channel: str, thread: str, answer_id: str) -> None:
        """Record ``answer_id`` as the latest answer in a chat thread (replacing the one before)."""

    @abstractmethod
    def thread_answer(self, platform: str, channel: str, thread: str) -> Answer | None:
        """The latest answer in a chat thread; None when there is none or it was deleted."""

    @abstractmethod
    def vote(self, answer_id: str, platform: str, user_id: str, vote: str) -> bool:
        """Store or change a user's vote; False when the answer is unknown."""

    @abstractmethod
    def votes(self) -> list[Vote]:
        """Every stored vote with its question and quote ids, oldest first."""

    @abstractmethod
    def rated(self, since: float | None = None) -> list[Rated]:
        """Every answer with at least one vote (asked at or after ``since``), oldest first."""

    @abstractmethod
    def first_sight(self, key: str, ttl_seconds: float = EVENT_TTL_SECONDS) -> bool:
        """Claim a platform event id: True for the one caller (of any replica) that sees it first.

        An atomic insert, so two replicas handed the same event at the same
        moment get one True between them. The claim is forgotten after ``ttl_seconds``.
        """

    @abstractmethod
    def retry_after(self, key: str, rate: int, per_seconds: float) -> float:
        """A shared sliding window: 0.0 and the request counted while ``key`` has made fewer
        than ``rate`` requests in the last ``per_seconds``, else the seconds to wait."""

    @abstractmethod
    def purge(self) -> Purged:
        """Delete what the :class:`Policy` no longer allows to keep, and expired events."""

    @abstractmethod
    def close(self) -> None:
        """Release the connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(
    url: str | None,
    *,
    sqlite_path: Path | str = Path(".quotebot/feedback.sqlite3"),
    user_hash_key: str = "",
    key_file: Path | None = None,
    policy: Policy | None = None,
    clock: Callable[[], float] | None = None,
    pool_size: int = 10,
) -> Store:
    """Open (creating and migrating when needed) the store that ``url`` names.

    ``url`` empty or None means the SQLite file ``sqlite_path``. The user-id
    hash key is ``user_hash_key`` when given, else the 0600 file ``key_file``
    (default: ``user-hash.key`` beside the SQLite file, or under ``.quotebot``
    for PostgreSQL), created on first use.
    """
    from bot.storage.keys import load_or_create_key

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
    if key_file is None:
        base = path.parent if path is not None else Path(sqlite_path).parent
        key_file = base / "user-hash.key"
    key = user_hash_key.encode() if user_hash_key else b""
    if path is not None:
        from bot.storage.sqlite import SQLiteStore

        key = key or load_or_create_key(key_file)
        return SQLiteStore(path, key=key, policy=policy, clock=clock)
    from bot.storage.postgres import PostgresStore

    if not key:
        log.warning(
            "QUOTEBOT_USER_HASH_KEY is not set; using the key in %s. Replicas on other "
            "machines must use the same key, or they count votes and cooldowns apart.",
            key_file,
        )
        key = load_or_create_key(key_file)
    return PostgresStore(url, key=key, policy=policy, clock=clock, pool_size=pool_size)


def redact(url: str) -> str:
    """``url`` without its password (in the user part or the query), for messages and logs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        netloc = f"{credentials.split(':', 1)[0]}@{host}"
    query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="*")))


def encode_answer(answer: Answer) -> str:
    """The JSON kept for an answer: all that its buttons and "Share" need to show it again."""
    return json.dumps(
        {
            "question": answer.question,
            "quotes": [asdict(q) for q in answer.quotes],
            "closest": [asdict(q) for q in answer.closest],
            "abstained": answer.abstained,
            "confidence": answer.confidence,
            "truncated": answer.truncated,
            "declined_below": answer.declined_below,
        },
        ensure_ascii=False,
    )


def _quote(data: dict[str, Any]) -> Quote:
    # JSON has no tuples; answers stored before highlights (or sections) have none.
    mark = data.pop("highlight", None)
    header = data.pop("header", None)
    data["section"] = tuple(data.get("section", ()))
    return Quote(
        **data,
        highlight=(int(mark[0]), int(mark[1])) if mark else None,
        header=(int(header[0]), int(header[1])) if header else None,
    )


def decode_answer(answer_id: str, text: str) -> Answer:
    data: dict[str, Any] = json.loads(text)
    return Answer(
        question=data["question"],
        quotes=tuple(_quote(q) for q in data["quotes"]),
        abstained=bool(data["abstained"]),
        confidence=float(data["confidence"]),
        closest=tuple(_quote(q) for q in data["closest"]),
        truncated=bool(data["truncated"]),
        declined_below=data.get("declined_below"),  # None in answers stored before the bar
        id=answer_id,
    )
