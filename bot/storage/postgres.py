"""The PostgreSQL backend: one database shared by every replica, through a connection pool.

psycopg 3 with psycopg_pool. Connections are checked before use, so a
connection the server dropped is replaced without anyone noticing.

A database that goes away is handled here rather than by the pool: the pool
retries with a backoff that doubles up to minutes (and may give up), so it
would notice the database's return late. Once a query cannot get through and
a direct connection fails too, the store says so in one log line, closes the
pool, answers every call at once with :data:`messages.DATABASE_BUSY`, and
tries a direct connection every :data:`RETRY_SECONDS`. The first that
succeeds opens a fresh pool and the store says, in one more line, that the
database is back. The pool's own warnings about each failed attempt are kept
out of the log (they show with ``-v``).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from bot import messages
from bot.errors import StorageError
from bot.storage.factory import redact
from bot.storage.records import Policy
from bot.storage.sql import SQLStore

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3  # each new pooled connection
PROBE_TIMEOUT_SECONDS = 2  # a direct try while the database is away (libpq's shortest)
POOL_TIMEOUT_SECONDS = 5.0  # waiting for a pooled connection before giving up
PING_TIMEOUT_SECONDS = 3.0
# How often a database that went away is tried again: it is back in use this soon after
# it returns. A refused connection costs nothing; one that hangs ends after the probe timeout.
RETRY_SECONDS = 0.5
# The pool's own reconnecting, for connections it loses while the database answers
# (the store takes over once the database itself is away).
POOL_RECONNECT_TIMEOUT_SECONDS = 300.0
# Any constants: the locks that let one replica at a time migrate the schema or purge.
MIGRATION_LOCK = 0x71756F7465
PURGE_LOCK = MIGRATION_LOCK + 1


@functools.lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    return sql.replace("?", "%s")


class _Tx:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(_placeholders(sql), params)  # type: ignore[arg-type]


class _PoolRecords(logging.Filter):
    """psycopg_pool warns about every failed connection attempt and every connection it
    discards; in an outage that is a stream. The store reports the database going away and
    coming back itself, so the pool's records are shown only when debugging."""

    def filter(self, record: logging.LogRecord) -> bool:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("psycopg_pool: %s", record.getMessage())
        return False


def _quiet_pool() -> None:
    pool_log = logging.getLogger("psycopg.pool")
    if not any(isinstance(f, _PoolRecords) for f in pool_log.filters):
        pool_log.addFilter(_PoolRecords())


def _reason(exc: BaseException) -> str:
    """The first line of a connection error (libpq's messages name host and user, never
    the password)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class PostgresStore(SQLStore):
    """:class:`~bot.storage.Store` on PostgreSQL; rides out the database going away.

    With ``wait``, a database that does not answer at start-up is waited for the
    same way (every call says busy until it answers, then the schema is brought up
    to date); without it, start-up stops with :class:`StorageError`.
    """

    backend = "postgresql"
    # Rows read to be rewritten are locked, so replicas update a cooldown one at a time.
    _for_update = " FOR UPDATE"

    def __init__(
        self,
        url: str,
        *,
        key: bytes,
        policy: Policy | None = None,
        clock: Callable[[], float] | None = None,
        pool_size: int = 10,
        wait: bool = False,
    ) -> None:
        super().__init__(key=key, policy=policy or Policy(), clock=clock)
        self.where = redact(url)
        self._url = url
        self._pool_size = max(1, pool_size)
        _quiet_pool()
        # None while the database is away: every call is then refused at once.
        self._pool: ConnectionPool[Any] | None = None
        self._down_since: float | None = None  # time.monotonic() when it went away
        self._opened = False  # the schema has been brought up to date
        self._suspect = threading.Event()  # a call failed as if the database were away
        self._closing = threading.Event()
        self._swap = threading.Lock()
        self._opening = threading.local()  # the pool the watcher migrates through
        self._last_error = ""
        self._starved = False  # a call got no connection in time (all in use, or gone)
        self._next_starved_line = 0.0
        try:
            # One direct attempt first: a wrong address fails at once, in one line,
            # rather than after the pool's retries.
            self._probe()
        except psycopg.Error as exc:
            log.debug("Connecting to %s failed: %s", self.where, exc)
            if not wait:
                raise StorageError(messages.DATABASE_UNREACHABLE.format(url=self.where)) from None
            self._down_since = time.monotonic()
            log.warning(
                "PostgreSQL at %s does not answer (%s); /healthz says 503 and questions are "
                "refused until it does. Trying again every %g s.",
                self.where,
                _reason(exc),
                RETRY_SECONDS,
            )
        else:
            pool = self._new_pool()
            if pool is None:
                raise StorageError(messages.DATABASE_UNREACHABLE.format(url=self.where))
            self._pool = pool
            try:
                self.open()
            except BaseException:
                self._pool = None
                pool.close()
                raise
            self._opened = True
        self._watcher = threading.Thread(target=self._watch, name="quotebot-database", daemon=True)
        self._watcher.start()

    # -- connections ------------------------------------------------------------------

    def _probe(self) -> None:
        psycopg.connect(self._url, connect_timeout=PROBE_TIMEOUT_SECONDS).close()

    def _new_pool(self) -> ConnectionPool[Any] | None:
        """A pool with its first connection made; None when that failed."""
        pool: ConnectionPool[Any] = ConnectionPool(
            self._url,
            min_size=1,
            max_size=self._pool_size,
            open=False,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
            check=self._check,
            timeout=POOL_TIMEOUT_SECONDS,
            reconnect_timeout=POOL_RECONNECT_TIMEOUT_SECONDS,
            name="quotebot-state",
        )
        try:
            pool.open(wait=True, timeout=2 * CONNECT_TIMEOUT_SECONDS)
        except PoolTimeout:
            pool.close(timeout=0)
            return None
        return pool

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        # Run on each connection before it is handed out: the first one found dead makes
        # the watcher look at once, so calls do not queue for a database that is gone.
        try:
            ConnectionPool.check_connection(conn)
        except psycopg.Error as exc:
            self._lost(exc, self._pool)
            raise

    def _current_pool(self) -> ConnectionPool[Any]:
        pool: ConnectionPool[Any] | None = getattr(self._opening, "pool", None)
        if pool is None:
            pool = self._pool
        if pool is None:
            raise StorageError(messages.DATABASE_BUSY)
        return pool

    def _lost(self, exc: BaseException, pool: ConnectionPool[Any] | None) -> None:
        """A call through ``pool`` failed as a lost database would make it fail: unless that
        pool has already been given up, let the watcher look."""
        log.debug("PostgreSQL %s: %s: %s", self.where, type(exc).__name__, exc)
        if pool is None or pool is not self._pool:
            return
        if isinstance(exc, PoolTimeout):
            self._starved = True
        self._suspect.set()

    def _say_starved(self) -> None:
        """The database answers, yet a call waited in vain for a connection: every one
        was in use. Worth a line (at most one a minute), as it is not an outage."""
        now = time.monotonic()
        if self._starved and now >= self._next_starved_line:
            self._next_starved_line = now + 60.0
            log.warning(
                "PostgreSQL at %s answers, but a call waited %g s for a free connection in "
                "vain (the pool holds %d).",
                self.where,
                POOL_TIMEOUT_SECONDS,
                self._pool_size,
            )
        self._starved = False

    def _watch(self) -> None:
        """The one thread that declares the database away and back."""
        while not self._closing.is_set():
            if self._down_since is None:
                self._suspect.wait()
                self._suspect.clear()
                if self._closing.is_set():
                    return
                try:
                    self._probe()
                    self._say_starved()
                    continue  # a dropped connection, not the database: the pool copes
                except psycopg.Error as exc:
                    self._went_away(exc)
            if not self._come_back():
                self._closing.wait(RETRY_SECONDS)

    def _went_away(self, exc: BaseException) -> None:
        self._starved = False
        with self._swap:
            pool, self._pool = self._pool, None
            self._down_since = time.monotonic()
        log.warning(
            "PostgreSQL at %s is unreachable (%s); /healthz says 503 and questions are "
            "refused until it is back. Trying again every %g s.",
            self.where,
            _reason(exc),
            RETRY_SECONDS,
        )
        if pool is not None:
            # Its reconnect attempts would only back off further; a fresh pool is opened
            # when the database answers. Calls still waiting on it are refused as busy.
            pool.close(timeout=1.0)

    def _come_back(self) -> bool:
        """Try the database once; True when it answers and is in use again."""
        try:
            self._probe()
        except psycopg.Error:
            return False
        pool = self._new_pool()
        if pool is None:
            return False
        if not self._opened:
            # Waited for at start-up: the schema comes up to date before anyone uses it.
            self._opening.pool = pool
            try:
                self.open()
            except StorageError as exc:
                pool.close(timeout=0)
                if str(exc) != self._last_error:
                    self._last_error = str(exc)
                    log.error("PostgreSQL at %s: %s", self.where, exc)
                return False
            finally:
                self._opening.pool = None
            self._opened = True
        with self._swap:
            if self._closing.is_set():
                pool.close(timeout=0)
                return True
            self._pool = pool
            started, self._down_since = self._down_since, None
        away = time.monotonic() - (started or time.monotonic())
        log.warning("PostgreSQL at %s answers again after %.0f s.", self.where, away)
        return True

    # -- transactions -----------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[_Tx]:
        pool = self._current_pool()
        conn: psycopg.Connection[Any] | None = None
        try:
            with pool.connection() as conn, conn.transaction():
                yield _Tx(conn)
        except psycopg.Error as exc:
            if isinstance(exc, PoolTimeout | PoolClosed) or (conn is not None and conn.closed):
                self._lost(exc, pool)
            else:
                log.warning("PostgreSQL %s: %s: %s", self.where, type(exc).__name__, exc)
            raise StorageError(messages.DATABASE_BUSY) from None

    def _lock_schema(self, tx: Any) -> None:
        tx.run("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))

    def _may_purge(self, tx: Any) -> bool:
        return bool(tx.run("SELECT pg_try_advisory_xact_lock(?)", (PURGE_LOCK,)).fetchone()[0])

    def _has_table(self, tx: Any, name: str) -> bool:
        row = tx.run("SELECT to_regclass(?)", (name,)).fetchone()
        return row is not None and row[0] is not None

    def ping(self) -> None:
        unreachable = StorageError(messages.DATABASE_UNREACHABLE.format(url=self.where))
        pool = self._pool
        if pool is None:
            raise unreachable
        try:
            with pool.connection(timeout=PING_TIMEOUT_SECONDS) as conn:
                conn.execute("SELECT 1").fetchone()
        except psycopg.OperationalError as exc:  # PoolTimeout and PoolClosed among them
            self._lost(exc, pool)
            raise unreachable from None

    def close(self) -> None:
        self._closing.set()
        self._suspect.set()  # wakes the watcher
        with self._swap:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        if self._watcher is not threading.current_thread():
            self._watcher.join(timeout=PROBE_TIMEOUT_SECONDS + 2 * CONNECT_TIMEOUT_SECONDS + 1)
