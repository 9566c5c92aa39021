"""What the spiders need the store to remember between passes: per source, conditional-GET
validators and the result of the last fetch (shown by `newsmon sources list`); and which
URLs already led to a stored article, so they are never downloaded again.

Spiders read and write it; it never writes articles (the store pipeline does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, or_, select, update

from crawler.polling import Outcome
from crawler.schema import article_urls, articles, sources


@dataclass(frozen=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: everything in the store is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class CrawlState:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _ensure(self, connection, name: str, url: str) -> None:  # type: ignore[no-untyped-def]
        found = connection.execute(select(sources.c.id).where(sources.c.name == name)).first()
        if found is None:
            connection.execute(insert(sources).values(name=name, url=url, consecutive_failures=0))
        else:
            connection.execute(update(sources).where(sources.c.name == name).values(url=url))

    def validators(self, name: str, url: str) -> Validators:
        """Stored validators, unless the source's URL changed since they were saved."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(sources.c.url, sources.c.etag, sources.c.last_modified,
                       sources.c.body_hash).where(sources.c.name == name)
            ).first()  # fmt: skip
        if row is None or row.url != url:
            return Validators()
        return Validators(row.etag, row.last_modified, row.body_hash)

    def save_validators(self, name: str, url: str, validators: Validators) -> None:
        with self.engine.begin() as connection:
            self._ensure(connection, name, url)
            connection.execute(
                update(sources)
                .where(sources.c.name == name)
                .values(
                    etag=validators.etag,
                    last_modified=validators.last_modified,
                    body_hash=validators.body_hash,
                )
            )

    def record(self, name: str, url: str, outcome: Outcome, now: datetime | None = None) -> None:
        """The result of one fetch of a source."""
        now = now or datetime.now(UTC)
        values: dict[str, object] = {
            "last_fetch_at": now,
            "last_status": outcome.status,
            "passes": sources.c.passes + 1,
        }
        if outcome.new:
            values["last_new_at"] = now
        if outcome.status == "error":
            values.update(
                last_error=outcome.summary,
                consecutive_failures=sources.c.consecutive_failures + 1,
            )
        else:
            values.update(last_error=None, last_success_at=now, consecutive_failures=0,
                          last_problem=outcome.problem)  # fmt: skip
            if outcome.status == "ok":
                values.update(last_entries=outcome.entries, last_new=outcome.new)
        with self.engine.begin() as connection:
            self._ensure(connection, name, url)
            connection.execute(update(sources).where(sources.c.name == name).values(**values))

    def save_schedule(self, name: str, url: str, interval: float, next_run_at: datetime) -> None:
        with self.engine.begin() as connection:
            self._ensure(connection, name, url)
            connection.execute(
                update(sources)
                .where(sources.c.name == name)
                .values(interval=interval, next_run_at=next_run_at)
            )

    def new_articles_since(self, since: datetime) -> dict[str, int]:
        """Articles stored since `since`, per source name."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(articles.c.source, func.count())
                .where(articles.c.fetched_at >= since)
                .group_by(articles.c.source)
            )
            return {source: count for source, count in rows}

    def due_for_recheck(self, urls: list[str], every: float, window: float,
                        now: datetime | None = None) -> set[str]:  # fmt: skip
        """Which of these stored URLs to fetch again for updates: first fetched within
        `window` seconds and not checked for `every` seconds."""
        now = now or datetime.now(UTC)
        due: set[str] = set()
        with self.engine.connect() as connection:
            for start in range(0, len(urls), 500):
                due.update(connection.execute(
                    select(article_urls.c.url)
                    .join(articles, articles.c.id == article_urls.c.article_id)
                    .where(
                        article_urls.c.url.in_(urls[start : start + 500]),
                        articles.c.url == article_urls.c.url,
                        articles.c.fetched_at >= now - timedelta(seconds=window),
                        or_(articles.c.checked_at.is_(None),
                            articles.c.checked_at <= now - timedelta(seconds=every)),
                    )
                ).scalars())  # fmt: skip
        return due

    def all(self) -> dict[str, dict[str, object]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(sources)).mappings().all()
        return {
            row["name"]: {
                key: as_utc(value) if isinstance(value, datetime) else value
                for key, value in row.items()
            }
            for row in rows
        }

    def known_urls(self, urls: list[str]) -> set[str]:
        """Which of these canonical URLs already led to a stored article."""
        known: set[str] = set()
        with self.engine.connect() as connection:
            for start in range(0, len(urls), 500):  # stay under bound-parameter limits
                chunk = urls[start : start + 500]
                known.update(
                    connection.execute(
                        select(article_urls.c.url).where(article_urls.c.url.in_(chunk))
                    ).scalars()
                )
        return known


def source_flags(row: dict[str, Any], enabled: bool, now: datetime,
                 silent_after: timedelta) -> list[str]:  # fmt: skip
    """Why a source needs a look; a broken source must never fail silently."""
    if not enabled:
        return ["disabled"]
    flags = []
    if row.get("consecutive_failures"):
        flags.append("FAILING")
    if row.get("last_fetch_at") and not row.get("last_success_at"):
        flags.append("NEVER OK")
    last_new = row.get("last_new_at")
    if last_new and now - last_new > silent_after:
        flags.append("SILENT")
    elif not last_new and row.get("last_success_at") and (row.get("passes") or 0) >= 3:
        flags.append("NOTHING NEW YET")
    return flags


def describe_seconds(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.0f}s"
