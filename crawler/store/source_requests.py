"""What people ask of the schedule of sources: a fresh start, or a pass now.

Beside the schedule stage of the flow. `newsmon sources reset` clears a source's failures and
back-off (those of the source and of its owed links); `newsmon sources poll` and the
dashboard's "Poll now" button ask for a pass now. Both only write the store: a running
`newsmon run` reads the requests every few seconds (`pending`), polls the source at once and
clears its request (`take`). One-off `newsmon crawl` runs write failures and back-off too,
which is why a source they failed on may wait hours for its first pass under `run`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, or_, select, update

from crawler.store.crawl_state import as_utc
from crawler.store.schema import owed_links, sources


@dataclass(frozen=True)
class Pending:
    """A source the service should look at again: a poll was asked for, or it was reset."""

    name: str
    poll_requested_at: datetime | None
    reset: bool  # no next run is planned: `sources reset` cleared it
    failures: int


def reset(engine: Engine, names: list[str]) -> int:
    """Clear the failures and back-off of these sources and of their owed links (attempts,
    next attempt, given up); the next `newsmon run` polls them at once. Returns the owed links
    made due again."""
    with engine.begin() as connection:
        for start in range(0, len(names), 500):  # stay under bound-parameter limits
            chunk = names[start : start + 500]
            connection.execute(
                update(sources)
                .where(sources.c.name.in_(chunk))
                .values(consecutive_failures=0, next_run_at=None)
            )
        owed = 0
        for start in range(0, len(names), 500):
            owed += connection.execute(
                update(owed_links)
                .where(owed_links.c.source.in_(names[start : start + 500]))
                .values(attempts=0, next_attempt_at=None, gave_up_at=None)
            ).rowcount
    return owed


def request_poll(engine: Engine, urls: dict[str, str], now: datetime | None = None) -> None:
    """Ask for a pass of these sources (name -> URL) now."""
    now = now or datetime.now(UTC)
    names = list(urls)
    with engine.begin() as connection:
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            known = set(
                connection.execute(
                    select(sources.c.name).where(sources.c.name.in_(chunk))
                ).scalars()
            )
            missing = [
                {"name": name, "url": urls[name], "consecutive_failures": 0}
                for name in chunk
                if name not in known
            ]
            if missing:  # never polled yet: the request waits in a row of its own
                connection.execute(insert(sources), missing)
            connection.execute(
                update(sources).where(sources.c.name.in_(chunk)).values(poll_requested_at=now)
            )


def requested(engine: Engine, names: list[str]) -> set[str]:
    """Which of these sources still have a poll request waiting."""
    with engine.connect() as connection:
        return set(
            connection.execute(
                select(sources.c.name).where(
                    sources.c.name.in_(names), sources.c.poll_requested_at.is_not(None)
                )
            ).scalars()
        )


def pending(engine: Engine) -> list[Pending]:
    """Sources with a poll request, or with no next run planned (reset, or never planned)."""
    query = select(
        sources.c.name,
        sources.c.poll_requested_at,
        sources.c.next_run_at,
        sources.c.consecutive_failures,
    ).where(or_(sources.c.poll_requested_at.is_not(None), sources.c.next_run_at.is_(None)))
    with engine.connect() as connection:
        return [
            Pending(
                row.name,
                as_utc(row.poll_requested_at),
                row.next_run_at is None,
                row.consecutive_failures or 0,
            )
            for row in connection.execute(query)
        ]


def take(engine: Engine, name: str, requested_at: datetime) -> None:
    """Clear the poll request of `name` that the service honours; a newer request stays."""
    with engine.begin() as connection:
        connection.execute(
            update(sources)
            .where(sources.c.name == name, sources.c.poll_requested_at == requested_at)
            .values(poll_requested_at=None)
        )
