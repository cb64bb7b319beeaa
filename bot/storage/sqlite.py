"""The SQLite backend: one file on this machine, created readable by its owner only."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot import messages
from bot.errors import StorageError
from bot.storage.records import Policy
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
        # Opening (switching to WAL, migrating the schema) and closing (the last connection
        # checkpoints and removes the WAL) are done by one connection at a time: SQLite can
        # answer "database is locked" at once, without waiting, to a connection that meets
        # another one halfway through either.
        with _serialised(self.path):
            try:
                self._db = sqlite3.connect(
                    self.path,
                    timeout=BUSY_TIMEOUT_SECONDS,
                    check_same_thread=False,
                    isolation_level=None,  # transactions are begun explicitly
                )
            except sqlite3.Error as exc:
                raise self._error(exc) from None
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
        with self._lock, _serialised(self.path, create=False):
            self._db.close()


@contextmanager
def _serialised(path: Path, *, create: bool = True) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<database>.lock``, across threads and processes,
    while the caller opens or closes the database. With ``create``, create the database
    with mode 0600 (SQLite gives its -wal and -shm files the same mode).

    The lock is a file of its own because closing any descriptor of the database file
    would drop the POSIX locks SQLite holds on it for every connection of this process."""
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        if not create:  # closing: the folder is gone, so nobody else is opening it
            yield
            return
        # mkdir says "File exists" when a file stands where the folder should be.
        reason = "its folder is a file" if isinstance(exc, FileExistsError) else exc.strerror
        raise StorageError(
            messages.DATABASE_FILE_UNUSABLE.format(path=path, reason=reason)
        ) from None
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StorageError(messages.DATABASE_BUSY) from None
                time.sleep(0.02)
        try:
            if create:
                _create_private(path)
        except OSError as exc:
            raise StorageError(
                messages.DATABASE_FILE_UNUSABLE.format(path=path, reason=exc.strerror)
            ) from None
        yield
    finally:
        os.close(fd)  # releases the flock


def _create_private(path: Path) -> None:
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            # A file from before the store was private: it holds questions, so tighten it.
            os.chmod(path, 0o600)
