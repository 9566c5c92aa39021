"""PostgreSQL advisory locks held for as long as a connection lives: who leads the
distributed mode's scheduling, and which worker runs a source's pass.

A session advisory lock belongs to one connection: when its process dies (`kill -9`, a host
lost) PostgreSQL closes the connection and frees the lock, with no lease to expire and no
table to clean. The lock's key is two 32-bit integers: the hash of the connection's schema and
the hash of the lock's name, so two deployments in two schemas of one database never share a
lock (and the tests' schemas don't).

`HeldLock.still_held()` tells whether the connection, hence the lock, is still there: after a
restart of PostgreSQL it is not, and its holder must take it again before going on.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, text

__all__ = ["HeldLock", "NotPostgreSQL", "require_postgresql"]

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


class HeldLock:
    """One named advisory lock, taken with `acquire()` (never waits) and held by a connection
    of its own until `release()` or the end of the process."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.connection: Connection | None = None

    def acquire(self) -> bool:
        """True when this process now holds the lock (or held it already)."""
        if self.connection is not None:
            return True
        connection = self.engine.connect()
        try:
            taken = bool(connection.execute(TRY_LOCK, {"name": self.name}).scalar())
            connection.commit()  # no transaction left open: the lock is the session's
        except Exception:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self.connection = connection
        return True

    def still_held(self) -> bool:
        """Whether the lock's connection is alive; if not, it is dropped (the lock is gone)."""
        if self.connection is None:
            return False
        try:
            self.connection.execute(text("SELECT 1"))
            self.connection.commit()
            return True
        except Exception as exc:  # noqa: BLE001 - whatever broke the connection broke the lock
            logger.warning("Lost the %s lock: %s", self.name, exc)
            self._drop()
            return False

    def release(self) -> None:
        """Unlock, and give the connection back to the pool (a worker takes a source's lock
        for each pass: a new connection each time would cost more than the lock); one that
        fails to unlock is closed, which frees the lock anyway."""
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.execute(UNLOCK, {"name": self.name})
            connection.commit()
        except Exception:  # noqa: BLE001 - closing the connection frees it anyway
            self.connection = connection
            self._drop()
            return
        connection.close()

    def _drop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.invalidate()  # never back to the pool: its session held the lock
                connection.close()
            except Exception:  # noqa: BLE001, S110 - it is gone either way
                pass
