"""What the store holds and returns: votes, rated answers, the retention policy, what a
purge deleted, and the names every backend shares."""

from __future__ import annotations

from dataclasses import dataclass

from bot.answers import Answer

UP = "up"
DOWN = "down"
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
