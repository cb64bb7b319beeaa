"""SQLite store of 👍/👎 votes, shared by the Discord and Slack adapters.

An answer is remembered when it is shown (question and quote ids), so a vote
button only has to carry the answer id and still works after a restart. User
ids are stored as salted hashes; one vote per user per answer, changeable.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bot.answers import Answer
from bot.render import shown_quotes

UP = "up"
DOWN = "down"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    question TEXT NOT NULL,
    quote_ids TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT NOT NULL REFERENCES answers(answer_id),
    user_hash TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    time REAL NOT NULL,
    PRIMARY KEY (answer_id, user_hash)
);
"""


@dataclass(frozen=True)
class Vote:
    time: float
    platform: str
    question: str
    quote_ids: tuple[str, ...]
    user_hash: str
    vote: str


class FeedbackStore:
    """Thread-safe; adapters call it from worker threads or the event loop."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        with self._lock, self._db:
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
            if row is None:
                salt = secrets.token_hex(16)
                self._db.execute("INSERT INTO meta VALUES ('salt', ?)", (salt,))
            else:
                salt = row[0]
        self._salt = salt.encode()

    def hash_user(self, platform: str, user_id: str) -> str:
        return hashlib.sha256(self._salt + f"{platform}:{user_id}".encode()).hexdigest()[:32]

    def remember(self, answer: Answer, platform: str) -> None:
        """Record an answer that is being shown, so votes on it can be stored."""
        ids = "\n".join(q.id for q in shown_quotes(answer))
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO answers VALUES (?, ?, ?, ?, ?)",
                (answer.id, platform, answer.question, ids, time.time()),
            )

    def vote(self, answer_id: str, platform: str, user_id: str, vote: str) -> bool:
        """Store or change a user's vote; False when the answer is unknown."""
        if vote not in (UP, DOWN):
            raise ValueError(f"vote must be {UP!r} or {DOWN!r}")
        user_hash = self.hash_user(platform, user_id)
        with self._lock, self._db:
            known = self._db.execute(
                "SELECT 1 FROM answers WHERE answer_id = ?", (answer_id,)
            ).fetchone()
            if known is None:
                return False
            self._db.execute(
                "INSERT INTO votes VALUES (?, ?, ?, ?) ON CONFLICT (answer_id, user_hash) "
                "DO UPDATE SET vote = excluded.vote, time = excluded.time",
                (answer_id, user_hash, vote, time.time()),
            )
        return True

    def votes(self) -> list[Vote]:
        with self._lock:
            rows = self._db.execute(
                "SELECT v.time, a.platform, a.question, a.quote_ids, v.user_hash, v.vote "
                "FROM votes v JOIN answers a USING (answer_id) ORDER BY v.time"
            ).fetchall()
        return [
            Vote(t, p, q, tuple(ids.split("\n")) if ids else (), u, v)
            for t, p, q, ids, u, v in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._db.close()
