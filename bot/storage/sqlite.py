"""The SQLite backend: one file on this machine, created readable by its owner only."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot import messages
from bot.errors import StorageError
from bot.storage import Policy
from bot.storage.sql import SQLStore

log = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS = 30.0


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(sql, params)


class SQLiteStore(SQLStore):
    """Thread-safe: one connection behind a lock. Several processes may share the file;
    each write transaction takes SQLite's write lock (``BEGIN IMMEDIATE``)."""

    backend = "sqlite"

    def __init__(
        self,
        path: Path | str,
        *,
        key: bytes,
        policy: Policy | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(key=key, policy=policy or Policy(), clock=clock)
        self.path = Path(path)
        self.where = str(self.path)
        self._lock = threading.Lock()
        try:
            _create_private(self.path)
            self._db = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                check_same_thread=False,
                isolation_level=None,  # transactions are begun explicitly
            )
        except OSError as exc:
            raise StorageError(
                messages.DATABASE_FILE_UNUSABLE.format(path=self.path, reason=exc.strerror)
            ) from None
        try:
            try:
                # WAL lets other processes read while one writes.
                self._db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.Error as exc:
                raise self._error(exc) from None
            self.open()
        except BaseException:
            self._db.close()
            raise

    @contextmanager
    def _transaction(self) -> Iterator[_Tx]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(exc) from None
            try:
                yield _Tx(self._db)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise self._error(exc) from None
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")

    def _error(self, exc: sqlite3.Error) -> StorageError:
        log.warning("SQLite %s: %s", self.path, exc)
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return StorageError(messages.DATABASE_BUSY)
        return StorageError(messages.DATABASE_FILE_UNUSABLE.format(path=self.path, reason=exc))

    def _has_table(self, tx: Any, name: str) -> bool:
        row = tx.run("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return row.fetchone() is not None

    def ping(self) -> None:
        with self._lock:
            try:
                self._db.execute("SELECT 1").fetchone()
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _create_private(path: Path) -> None:
    """Create ``path`` with mode 0600 (SQLite gives its -wal and -shm files the same mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            # A file from before the store was private: it holds questions, so tighten it.
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
