"""The interface every storage backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

from bot.answers import Answer
from bot.storage.records import DEFAULT_COLLECTION, EVENT_TTL_SECONDS, Purged, Rated, Vote


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
