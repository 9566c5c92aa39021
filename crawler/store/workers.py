"""The distributed mode's workers as the store knows them: who runs, since when, their last
heartbeat and the passes under way (`newsmon workers`, `sources status`, the dashboard).

Each `newsmon worker` upserts its row at start and every `HEARTBEAT_EVERY` seconds; a clean
stop sets `stopped_at`. A worker whose heartbeat is older than `LOST_AFTER` without a clean
stop was lost (killed, its host gone): its passes were delivered again by the broker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql

from crawler.store.crawl_state import as_utc
from crawler.store.schema import workers

__all__ = ["HEARTBEAT_EVERY", "LOST_AFTER", "WorkerRow", "beat", "listing", "register", "stop"]

HEARTBEAT_EVERY = 5.0  # seconds
LOST_AFTER = timedelta(seconds=30)  # six heartbeats missed


@dataclass(frozen=True)
class WorkerRow:
    name: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    running: tuple[str, ...]
    passes: int
    stopped_at: datetime | None

    def state(self, now: datetime) -> str:
        """live, stopped (cleanly) or lost (no heartbeat for `LOST_AFTER`)."""
        if self.stopped_at is not None:
            return "stopped"
        return "live" if now - self.heartbeat_at <= LOST_AFTER else "lost"


def register(engine: Engine, name: str, host: str, pid: int) -> None:
    now = datetime.now(UTC)
    row = {
        "name": name,
        "host": host,
        "pid": pid,
        "started_at": now,
        "heartbeat_at": now,
        "running": "[]",
        "passes": 0,
        "stopped_at": None,
    }
    statement = postgresql.insert(workers).values(row)
    statement = statement.on_conflict_do_update(
        index_elements=[workers.c.name], set_={k: v for k, v in row.items() if k != "name"}
    )
    with engine.begin() as connection:
        connection.execute(statement)


def beat(engine: Engine, name: str, running: list[str], passes: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(workers)
            .where(workers.c.name == name)
            .values(heartbeat_at=datetime.now(UTC), running=json.dumps(running), passes=passes)
        )


def stop(engine: Engine, name: str, passes: int) -> None:
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            update(workers)
            .where(workers.c.name == name)
            .values(heartbeat_at=now, stopped_at=now, running="[]", passes=passes)
        )


def listing(engine: Engine) -> list[WorkerRow]:
    """Every worker known, the most recent heartbeat first."""
    with engine.connect() as connection:
        rows = connection.execute(select(workers).order_by(workers.c.heartbeat_at.desc()))
        return [
            WorkerRow(
                row.name,
                row.host,
                row.pid,
                as_utc(row.started_at),
                as_utc(row.heartbeat_at),
                tuple(json.loads(row.running or "[]")),
                row.passes,
                as_utc(row.stopped_at),
            )
            for row in rows
        ]
