"""PostgreSQL advisory locks held for as long as a connection lives: who leads the
distributed mode's scheduling, and which worker runs a source's pass.

A session advisory lock belongs to one connection: when its process dies (`kill -9`, a host
lost) PostgreSQL closes the connection and frees the lock, with no lease to expire and no
table to clean. The lock's key is two 32-bit integers: the hash of the connection's schema and
the hash of the lock's name, so two deployments in two schemas of one database never share a
lock (and the tests' schemas don't).

`AdvisoryLocks.alive()` tells whether the connection, hence its locks, is still there: after
a restart of PostgreSQL it is not, and their holder must take them again before going on.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Connection, Engine, text

__all__ = ["AdvisoryLocks", "NotPostgreSQL", "require_postgresql"]

logger = logging.getLogger(__name__)

TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtext(current_schema()), hashtext(:name))")
UNLOCK = text("SELECT pg_advisory_unlock(hashtext(current_schema()), hashtext(:name))")


class NotPostgreSQL(ValueError):
    """The distributed mode was asked of a store that is not PostgreSQL."""


def require_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        raise NotPostgreSQL(
            f"the distributed mode needs a PostgreSQL store, not {engine.dialect.name} "
            "(set `database` to a postgresql+psycopg:// URL)"
        )


class AdvisoryLocks:
    """Named advisory locks, taken with `acquire(name)` (never waits) and held by one
    connection of their own until `release(name)` or the end of the process. One session holds
    any number: a worker takes the lock of each source it runs a pass of, up to
    `worker_concurrency` at once, on this one connection rather than one each from the store's
    pool, which its passes need for their articles. Safe to use from several threads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None
        self.held: set[str] = set()
        self.guard = threading.Lock()  # one statement at a time on the connection

    def acquire(self, name: str) -> bool:
        """True when this process now holds the lock (or held it already)."""
        with self.guard:
            if name in self.held:
                return True
            if self.connection is None:
                # Autocommit: no transaction is ever open on it (the locks are the session's,
                # not a transaction's), and no COMMIT follows each statement: a pass's lock
                # and unlock are two round trips, not four.
                self.connection = self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            try:
                taken = bool(self.connection.execute(TRY_LOCK, {"name": name}).scalar())
            except Exception:
                self._drop()
                raise
            if taken:
                self.held.add(name)
            return taken

    def release(self, name: str) -> None:
        with self.guard:
            if name not in self.held:
                return
            self.held.discard(name)
            if self.connection is None:
                return
            try:
                self.connection.execute(UNLOCK, {"name": name})
            except Exception:  # noqa: BLE001 - closing the connection frees it anyway
                self._drop()

    def alive(self) -> bool:
        """Whether the connection, hence every lock held, is still there; if not, it is
        dropped and the locks are known lost (PostgreSQL restarted, the connection was cut)."""
        with self.guard:
            if self.connection is None:
                return False
            try:
                self.connection.execute(text("SELECT 1"))
                return True
            except Exception as exc:  # noqa: BLE001 - whatever broke it broke the locks
                logger.warning("Lost the store's locks %s: %s", sorted(self.held), exc)
                self._drop()
                return False

    def close(self) -> None:
        with self.guard:
            self._drop()

    def _drop(self) -> None:
        connection, self.connection = self.connection, None
        self.held.clear()
        if connection is not None:
            try:
                connection.invalidate()  # never back to the pool: its session held the locks
                connection.close()
            except Exception:  # noqa: BLE001, S110 - it is gone either way
                pass
