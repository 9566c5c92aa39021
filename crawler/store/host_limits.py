"""Per-host politeness shared by every crawl process of the distributed mode, in PostgreSQL.

Place in the flow: the store, used by `crawler.middlewares.SharedHostLimitsMiddleware` before
each download when several worker processes crawl at once (issue 16). Inside one process,
`HostConcurrencyMiddleware` and Scrapy's download slots keep the limits; across processes only
the store that all of them share can.

Two tables (migration 0016, PostgreSQL only):

- `host_permits`: one row per request in flight to a host, in one of its places 0 .. limit-1.
  `acquire` takes the lowest free place in one statement: an `INSERT ... ON CONFLICT DO
  UPDATE ... WHERE expires_at <= now()`, so two processes that both see a place free both try
  it and PostgreSQL's row lock lets exactly one have it (the other asks again at once, and
  sees the next place). A permit is a lease: a process killed with `kill -9` cannot release,
  and its place is free again once the lease ends (the download's timeout, the longest wait
  for the pace, and `LEASE_MARGIN`). `release` deletes the row, only if it is still the
  holder's.
- `host_pace`: per host, when the next request may start. The same statement that grants a
  permit moves it on by the delay (`greatest(next_start_at, now()) + delay`) and returns the
  start this request reserved: `download_delay` is then a pace over all processes, each
  request given its own start. The pace is taken only with a permit, so at most `limit`
  starts are reserved ahead and a permit's wait for its start is bounded.

Every statement runs alone in autocommit: a grant or a release is one round trip, on the
database server's clock (the processes' clocks may differ). The tables are UNLOGGED: leases
of seconds are not worth the write-ahead log (see migration 0016 for what a crash forgets).
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from crawler.errors import StorageError
from crawler.store.database import safe_url

__all__ = [
    "LEASE_MARGIN",
    "Permit",
    "acquire",
    "forget_idle",
    "holder_id",
    "lease_for",
    "limits_engine",
    "permits_held",
    "release",
    "release_all",
]

# Beyond the download's own timeout: the time from the end of a download to its release
# reaching the database (a busy process, a slow commit). Also how long a killed process's
# place stays taken beyond its download's timeout: the cost of a longer margin.
LEASE_MARGIN = 10.0
# Pace rows this old no longer delay anything (the next start is greatest(row, now)).
IDLE_PACE = "1 hour"


@dataclass(frozen=True)
class Permit:
    """A place among a host's requests in flight, held by one process until released or
    until its lease ends; `wait` is the time in seconds from the grant to this request's
    reserved start (the host's pace)."""

    host: str
    slot: int
    holder: str
    wait: float = 0.0


def holder_id() -> str:
    """A name for one holder of permits, unique across hosts and restarts: host:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_for(timeout: float, limit: int, delay: float, margin: float = LEASE_MARGIN) -> float:
    """Seconds a permit is leased for: its download (`timeout`), its wait for the pace (at
    most one delay for each of the `limit` starts reserved ahead of it), and a margin.
    `delay` is the longest a single step of the pace may be (the jitter included)."""
    return timeout + limit * delay + margin


def limits_engine(url: str) -> Engine:
    """An engine for the limits' statements on the store at `url`: autocommit (one round
    trip per statement) and no ping before each use (a dropped connection fails once and the
    pool replaces it). Raises StorageError for a store that is not PostgreSQL.

    One per process and store (`crawler.store.engines.Engines`): the crawlers of a worker's
    passes share its connections. One engine a pass, as before, opened a connection a pass,
    and PostgreSQL started and ended a backend process for it (`python bench/distributed.py`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise StorageError(
            f"shared host limits need a PostgreSQL store; {safe_url(url)} is "
            f"{parsed.get_backend_name()} (the distributed mode stores in PostgreSQL)"
        )
    return create_engine(parsed, isolation_level="AUTOCOMMIT")


# The lowest place not held by a live lease; taken if it is still free (or expired) when the
# row is locked. The pace moves only when a place was taken (`pace` reads `taken`). No row:
# every place is held; a row without a slot: another asker took that place first.
_ACQUIRE = """
WITH free AS (
    SELECT s.slot FROM generate_series(0, CAST(:limit AS integer) - 1) AS s(slot)
    WHERE NOT EXISTS (
        SELECT 1 FROM host_permits AS held
        WHERE held.host = :host AND held.slot = s.slot AND held.expires_at > now()
    )
    ORDER BY s.slot
    LIMIT 1
), taken AS (
    INSERT INTO host_permits AS p (host, slot, holder, acquired_at, expires_at)
    SELECT :host, free.slot, :holder, now(), now() + make_interval(secs => :lease) FROM free
    ON CONFLICT (host, slot) DO UPDATE
        SET holder = excluded.holder,
            acquired_at = excluded.acquired_at,
            expires_at = excluded.expires_at
        WHERE p.expires_at <= now()
    RETURNING p.slot
){pace}
SELECT taken.slot, {wait} AS wait FROM free LEFT JOIN taken ON true{join}
"""
_PACE = """, pace AS (
    INSERT INTO host_pace AS h (host, next_start_at)
    SELECT :host, now() + make_interval(secs => :delay) FROM taken
    ON CONFLICT (host) DO UPDATE
        SET next_start_at = greatest(h.next_start_at, now()) + make_interval(secs => :delay)
    RETURNING h.next_start_at - make_interval(secs => :delay) AS start_at
)"""
ACQUIRE_PACED = text(
    _ACQUIRE.format(
        pace=_PACE,
        wait="greatest(CAST(extract(epoch FROM pace.start_at - now()) AS double precision), 0)",
        join=" LEFT JOIN pace ON true",
    )
)
ACQUIRE_UNPACED = text(_ACQUIRE.format(pace="", wait="CAST(0 AS double precision)", join=""))
RELEASE = text("DELETE FROM host_permits WHERE host = :host AND slot = :slot AND holder = :holder")


def acquire(
    engine: Engine, host: str, holder: str, limit: int, lease: float, delay: float = 0.0
) -> Permit | None:
    """A permit for one request to `host` if fewer than `limit` are held, else None (try
    again later). With a `delay`, also this request's start on the host's pace: the next
    request, from any process, starts `delay` seconds after it."""
    statement = ACQUIRE_PACED if delay > 0 else ACQUIRE_UNPACED
    values = {"host": host, "holder": holder, "limit": limit, "lease": lease, "delay": delay}
    with engine.connect() as connection:
        # A place lost to another asker: asked again at once, as the next statement sees the
        # winner's row and picks the next place. At most once per place.
        for _ in range(limit):
            row = connection.execute(statement, values).first()
            if row is None:
                return None
            if row.slot is not None:
                return Permit(host, row.slot, holder, row.wait)
    return None


def release(engine: Engine, permit: Permit) -> bool:
    """Give the permit's place back; False when it was no longer held (its lease ended and
    another process took the place, or it was released already)."""
    values = {"host": permit.host, "slot": permit.slot, "holder": permit.holder}
    with engine.connect() as connection:
        return connection.execute(RELEASE, values).rowcount == 1


def release_all(engine: Engine, holder: str) -> int:
    """Give back every place `holder` still holds (a crawl that ends); how many there were."""
    with engine.connect() as connection:
        deleted = connection.execute(
            text("DELETE FROM host_permits WHERE holder = :holder"), {"holder": holder}
        )
        return deleted.rowcount


def forget_idle(engine: Engine) -> None:
    """Delete what no longer limits anything: ended leases, and paces of hosts idle for an
    hour (a host seen again starts afresh, as its old row would have let it)."""
    with engine.connect() as connection:
        connection.execute(text("DELETE FROM host_permits WHERE expires_at <= now()"))
        connection.execute(
            text(f"DELETE FROM host_pace WHERE next_start_at < now() - interval '{IDLE_PACE}'")
        )


def permits_held(engine: Engine, host: str) -> list[tuple[int, str, datetime]]:
    """(place, holder, end of lease) of the live permits of `host`, by place."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT slot, holder, expires_at FROM host_permits "
                "WHERE host = :host AND expires_at > now() ORDER BY slot"
            ),
            {"host": host},
        )
        return [(row.slot, row.holder, row.expires_at) for row in rows]
