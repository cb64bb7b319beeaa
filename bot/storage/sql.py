"""The schema, its migrations and every query, shared by the SQLite and PostgreSQL backends.

The SQL is written once, in the dialect both understand (``INSERT … ON
CONFLICT``, ``DOUBLE PRECISION``, ``?`` placeholders that the PostgreSQL
backend rewrites); a backend only supplies transactions.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, Protocol

from bot import messages
from bot.answers import Answer, shown_quotes
from bot.errors import StorageError
from bot.storage.base import Store
from bot.storage.codec import decode_answer, encode_answer
from bot.storage.records import (
    DEFAULT_COLLECTION,
    DOWN,
    EVENT_TTL_SECONDS,
    UP,
    Policy,
    Purged,
    Rated,
    Vote,
)

log = logging.getLogger(__name__)

# Each entry is one schema version; never edit one that has shipped, append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the feedback store as it was before versions were recorded; a file
    # written then already has these tables and is adopted as it is.
    (
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS answers (
            answer_id TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            question TEXT NOT NULL,
            quote_ids TEXT NOT NULL,
            created DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS votes (
            answer_id TEXT NOT NULL REFERENCES answers(answer_id),
            user_hash TEXT NOT NULL,
            vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
            time DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (answer_id, user_hash)
        )""",
    ),
    # 2: state that replicas share (whole answers for "Share", seen events,
    # cooldown windows), and the hash salt moves out of the database.
    (
        "ALTER TABLE answers ADD COLUMN collection TEXT NOT NULL DEFAULT 'default'",
        "ALTER TABLE answers ADD COLUMN body TEXT",
        "CREATE INDEX answers_created ON answers (created)",
        """CREATE TABLE seen_events (
            event_key TEXT PRIMARY KEY,
            expires DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX seen_events_expires ON seen_events (expires)",
        """CREATE TABLE cooldowns (
            user_key TEXT PRIMARY KEY,
            hits TEXT NOT NULL,
            expires DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX cooldowns_expires ON cooldowns (expires)",
        # Whoever had the file had the salt too, so it protected nothing.
        "DELETE FROM meta WHERE key = 'salt'",
    ),
    # 3: the last answer in each chat thread, so a follow-up there has its context
    # on any replica and after a restart.
    (
        """CREATE TABLE threads (
            platform TEXT NOT NULL,
            channel TEXT NOT NULL,
            thread TEXT NOT NULL,
            answer_id TEXT NOT NULL,
            updated DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (platform, channel, thread)
        )""",
        "CREATE INDEX threads_updated ON threads (updated)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
PURGE_EVERY_SECONDS = 60.0


class Transaction(Protocol):
    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute one statement; returns a DB-API cursor."""


class SQLStore(Store):
    """:class:`Store` on a SQL database; subclasses provide :meth:`_transaction`."""

    backend = ""
    where = ""  # the file or the URL (without password), for messages
    _for_update = ""  # row locking clause, where the database has one

    def __init__(
        self, *, key: bytes, policy: Policy, clock: Callable[[], float] | None = None
    ) -> None:
        if not key:
            raise ValueError("a user-hash key is required")
        self._key = key
        self.policy = policy
        self._clock = clock or time.time
        self._next_purge = 0.0
        self.upgraded_from = 0

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Transaction]:
        """One transaction that holds what it writes until it commits."""

    def _lock_schema(self, tx: Transaction) -> None:
        """Serialise migrations between processes (SQLite's write lock already does)."""

    def _may_purge(self, tx: Transaction) -> bool:
        """False when another process is purging right now (so this one need not)."""
        return True

    def open(self) -> None:
        """Bring the schema up to date and drop what the policy no longer keeps."""
        self.upgraded_from, _ = self.upgrade()
        self.purge()

    # -- schema -------------------------------------------------------------------

    def upgrade(self) -> tuple[int, int]:
        with self._transaction() as tx:
            self._lock_schema(tx)
            tx.run(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, applied DOUBLE PRECISION NOT NULL)"
            )
            before = self._version(tx)
            if before > SCHEMA_VERSION:
                raise StorageError(
                    messages.DATABASE_TOO_NEW.format(version=before, known=SCHEMA_VERSION)
                )
            for version in range(before + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version - 1]:
                    tx.run(statement)
                tx.run(
                    "INSERT INTO schema_migrations (version, applied) VALUES (?, ?)",
                    (version, time.time()),
                )
                log.info("Database schema upgraded to version %d.", version)
        return before, SCHEMA_VERSION

    def schema_version(self) -> int:
        with self._transaction() as tx:
            exists = self._has_table(tx, "schema_migrations")
            return self._version(tx) if exists else 0

    @abstractmethod
    def _has_table(self, tx: Transaction, name: str) -> bool: ...

    @staticmethod
    def _version(tx: Transaction) -> int:
        return int(tx.run("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])

    # -- answers and votes ----------------------------------------------------------

    def hash_user(self, platform: str, user_id: str) -> str:
        message = f"{platform}:{user_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def remember(
        self, answer: Answer, platform: str, *, collection: str = DEFAULT_COLLECTION
    ) -> None:
        self._maybe_purge()
        ids = "\n".join(q.id for q in shown_quotes(answer))
        with self._transaction() as tx:
            tx.run(
                "INSERT INTO answers "
                "(answer_id, platform, question, quote_ids, created, collection, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (answer_id) DO NOTHING",
                (
                    answer.id,
                    platform,
                    answer.question,
                    ids,
                    self._clock(),
                    collection,
                    encode_answer(answer),
                ),
            )

    def answer(self, answer_id: str) -> Answer | None:
        alive, params = self._alive()
        with self._transaction() as tx:
            row = tx.run(
                f"SELECT body FROM answers a WHERE answer_id = ? AND {alive}",
                (answer_id, *params),
            ).fetchone()
        if row is None or row[0] is None:  # unknown, expired, or stored before bodies were
            return None
        return decode_answer(answer_id, row[0])

    def vote(self, answer_id: str, platform: str, user_id: str, vote: str) -> bool:
        if vote not in (UP, DOWN):
            raise ValueError(f"vote must be {UP!r} or {DOWN!r}")
        user_hash = self.hash_user(platform, user_id)
        alive, params = self._alive()
        with self._transaction() as tx:
            known = tx.run(
                f"SELECT 1 FROM answers a WHERE answer_id = ? AND {alive}{self._for_update}",
                (answer_id, *params),
            ).fetchone()
            if known is None:
                return False
            tx.run(
                "INSERT INTO votes (answer_id, user_hash, vote, time) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (answer_id, user_hash) "
                "DO UPDATE SET vote = excluded.vote, time = excluded.time",
                (answer_id, user_hash, vote, self._clock()),
            )
        return True

    def votes(self) -> list[Vote]:
        with self._transaction() as tx:
            rows = tx.run(
                "SELECT v.time, a.platform, a.question, a.quote_ids, v.user_hash, v.vote "
                "FROM votes v JOIN answers a ON a.answer_id = v.answer_id ORDER BY v.time"
            ).fetchall()
        return [
            Vote(float(t), p, q, tuple(ids.split("\n")) if ids else (), u, v)
            for t, p, q, ids, u, v in rows
        ]

    # -- threads ------------------------------------------------------------------------

    def remember_thread(self, platform: str, channel: str, thread: str, answer_id: str) -> None:
        with self._transaction() as tx:
            tx.run(
                "INSERT INTO threads (platform, channel, thread, answer_id, updated) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, channel, thread) "
                "DO UPDATE SET answer_id = excluded.answer_id, updated = excluded.updated",
                (platform, channel, thread, answer_id, self._clock()),
            )

    def thread_answer(self, platform: str, channel: str, thread: str) -> Answer | None:
        alive, params = self._alive()
        with self._transaction() as tx:
            row = tx.run(
                "SELECT a.answer_id, a.body FROM threads t JOIN answers a "
                "ON a.answer_id = t.answer_id "
                f"WHERE t.platform = ? AND t.channel = ? AND t.thread = ? AND {alive}",
                (platform, channel, thread, *params),
            ).fetchone()
        if row is None or row[1] is None:
            return None
        return decode_answer(row[0], row[1])

    def rated(self, since: float | None = None) -> list[Rated]:
        where, params = ("WHERE a.created >= ?", (since,)) if since is not None else ("", ())
        with self._transaction() as tx:
            rows = tx.run(
                "SELECT a.answer_id, a.platform, a.collection, a.question, a.created, a.body, "
                "v.vote, v.time FROM answers a JOIN votes v ON v.answer_id = a.answer_id "
                f"{where} ORDER BY a.created, a.answer_id, v.time",
                params,
            ).fetchall()
        out: list[Rated] = []
        for answer_id, platform, collection, question, created, body, vote, when in rows:
            if out and out[-1].answer_id == answer_id:
                last = out[-1]
                out[-1] = replace(last, votes=(*last.votes, (float(when), vote)))
                continue
            answer = decode_answer(answer_id, body) if body else None
            out.append(
                Rated(
                    answer_id,
                    platform,
                    collection,
                    question,
                    float(created),
                    answer,
                    ((float(when), vote),),
                )
            )
        return out

    def _alive(self) -> tuple[str, tuple[float, ...]]:
        """SQL over alias ``a``: true for an answer the policy still keeps, purged or not yet."""
        now = self._clock()
        clause = "(a.created > ? OR EXISTS (SELECT 1 FROM votes v WHERE v.answer_id = a.answer_id))"
        params: tuple[float, ...] = (now - self.policy.answer_ttl_seconds,)
        if self.policy.retention_seconds > 0:
            clause += " AND a.created > ?"
            params += (now - self.policy.retention_seconds,)
        return clause, params

    # -- events and cooldowns ---------------------------------------------------------

    def first_sight(self, key: str, ttl_seconds: float = EVENT_TTL_SECONDS) -> bool:
        self._maybe_purge()
        now = self._clock()
        with self._transaction() as tx:
            tx.run("DELETE FROM seen_events WHERE event_key = ? AND expires <= ?", (key, now))
            cursor = tx.run(
                "INSERT INTO seen_events (event_key, expires) VALUES (?, ?) "
                "ON CONFLICT (event_key) DO NOTHING",
                (key, now + ttl_seconds),
            )
            return bool(cursor.rowcount == 1)

    def retry_after(self, key: str, rate: int, per_seconds: float) -> float:
        with self._transaction() as tx:
            now = self._clock()
            tx.run(
                "INSERT INTO cooldowns (user_key, hits, expires) VALUES (?, '', 0) "
                "ON CONFLICT (user_key) DO NOTHING",
                (key,),
            )
            (text,) = tx.run(
                f"SELECT hits FROM cooldowns WHERE user_key = ?{self._for_update}", (key,)
            ).fetchone()
            hits = [float(t) for t in text.split()]
            kept, wait = slide(hits, now, rate, per_seconds)
            tx.run(
                "UPDATE cooldowns SET hits = ?, expires = ? WHERE user_key = ?",
                (" ".join(repr(t) for t in kept), max(kept, default=now) + per_seconds, key),
            )
        return wait

    # -- retention --------------------------------------------------------------------

    def purge(self) -> Purged:
        now = self._clock()
        unrated = now - self.policy.answer_ttl_seconds
        with self._transaction() as tx:
            if not self._may_purge(tx):
                return Purged()
            events = tx.run("DELETE FROM seen_events WHERE expires <= ?", (now,)).rowcount
            # A thread's context lives as long as its last answer would unrated.
            tx.run("DELETE FROM threads WHERE updated <= ?", (unrated,))
            cooldowns = tx.run("DELETE FROM cooldowns WHERE expires <= ?", (now,)).rowcount
            votes = answers = 0
            if self.policy.retention_seconds > 0:
                oldest = now - self.policy.retention_seconds
                votes = tx.run(
                    "DELETE FROM votes WHERE answer_id IN "
                    "(SELECT answer_id FROM answers WHERE created <= ?)",
                    (oldest,),
                ).rowcount
                answers = tx.run("DELETE FROM answers WHERE created <= ?", (oldest,)).rowcount
            answers += tx.run(
                "DELETE FROM answers WHERE created <= ? AND NOT EXISTS "
                "(SELECT 1 FROM votes v WHERE v.answer_id = answers.answer_id)",
                (unrated,),
            ).rowcount
        purged = Purged(answers=answers, votes=votes, events=events, cooldowns=cooldowns)
        if answers or votes:
            log.info("Deleted %d answer(s) and %d vote(s) past their keeping time.", answers, votes)
        return purged

    def _maybe_purge(self) -> None:
        # Every process purges now and then, so no single one has to be special.
        now = time.monotonic()
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY_SECONDS
        try:
            self.purge()
        except StorageError:
            # The backend has said what is wrong with the database (once, not on every
            # call); the answer being written matters more, and the next purge catches up.
            log.debug("Purging expired rows failed; trying again later.")
        except Exception:
            log.warning("Purging expired rows failed; trying again later.", exc_info=True)


def slide(
    hits: Sequence[float], now: float, rate: int, per_seconds: float
) -> tuple[list[float], float]:
    """One request at ``now`` against the earlier ``hits`` (oldest first).

    Returns the hits to keep and 0.0 when the request is within the limit (it
    is then counted), else the hits unchanged but for expired ones and the
    seconds until the oldest of them leaves the window.
    """
    kept = [t for t in hits if t > now - per_seconds]
    if len(kept) >= rate:
        return kept, kept[0] + per_seconds - now
    return [*kept, now], 0.0
