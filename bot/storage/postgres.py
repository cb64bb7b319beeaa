"""The PostgreSQL backend: one database shared by every replica, through a connection pool.

psycopg 3 with psycopg_pool: connections are checked before use, so a
database that restarts is reached again without restarting quotebot.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from bot import messages
from bot.errors import StorageError
from bot.storage import Policy, redact
from bot.storage.sql import SQLStore

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5
PING_TIMEOUT_SECONDS = 3.0
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


class PostgresStore(SQLStore):
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
    ) -> None:
        super().__init__(key=key, policy=policy or Policy(), clock=clock)
        self.where = redact(url)
        try:
            # One direct attempt first: a wrong address fails at once, in one line,
            # rather than after the pool's retries.
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
        except psycopg.OperationalError as exc:
            log.debug("Connecting to %s failed: %s", self.where, exc)
            raise StorageError(messages.DATABASE_UNREACHABLE.format(url=self.where)) from None
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            open=False,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
            check=ConnectionPool.check_connection,
            timeout=2 * CONNECT_TIMEOUT_SECONDS,
            name="quotebot-state",
        )
        try:
            self._pool.open(wait=True, timeout=2 * CONNECT_TIMEOUT_SECONDS)
            self.open()
        except PoolTimeout:
            self._pool.close()
            raise StorageError(messages.DATABASE_UNREACHABLE.format(url=self.where)) from None
        except BaseException:
            self._pool.close()
            raise

    @contextmanager
    def _transaction(self) -> Iterator[_Tx]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield _Tx(conn)
        except (PoolTimeout, psycopg.Error) as exc:
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
        try:
            with self._pool.connection(timeout=PING_TIMEOUT_SECONDS) as conn:
                conn.execute("SELECT 1").fetchone()
        except (PoolTimeout, psycopg.OperationalError):
            raise StorageError(messages.DATABASE_UNREACHABLE.format(url=self.where)) from None

    def close(self) -> None:
        self._pool.close()
