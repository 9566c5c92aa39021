"""What the spiders need the store to remember between passes: per source, conditional-GET
validators and the result of the last fetch (shown by `newsmon sources list`); and which
URLs already led to a stored article, so they are never downloaded again.

Spiders read and write it; it never writes articles (the store pipeline does).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Update, bindparam, func, insert, or_, select, true, update

from crawler.schedule.polling import Outcome
from crawler.store.schema import article_urls, articles, sources

__all__ = ["CrawlState", "Validators", "as_utc", "describe_seconds", "source_flags"]


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

    def _ensure_all(self, connection, urls: dict[str, str]) -> None:
        """Rows for the sources (name -> URL) that have none yet; callers update the URL."""
        names = list(urls)
        existing: set[str] = set()
        for start in range(0, len(names), 500):  # stay under bound-parameter limits
            existing.update(
                connection.execute(
                    select(sources.c.name).where(sources.c.name.in_(names[start : start + 500]))
                ).scalars()
            )
        missing = [
            {"name": name, "url": urls[name], "consecutive_failures": 0}
            for name in names
            if name not in existing
        ]
        if missing:
            connection.execute(insert(sources), missing)

    def validators(self, name: str, url: str) -> Validators:
        """Stored validators, unless the source's URL changed since they were saved."""
        return self.all_validators({name: url}).get(name, Validators())

    def all_validators(self, urls: dict[str, str]) -> dict[str, Validators]:
        """Stored validators of these sources (name -> URL), in one query for a whole pass;
        a source whose URL changed since they were saved has none."""
        query = select(
            sources.c.name,
            sources.c.url,
            sources.c.etag,
            sources.c.last_modified,
            sources.c.body_hash,
        )
        if len(urls) <= 500:  # a few sources (`newsmon run` polls one): not the whole table
            query = query.where(sources.c.name.in_(list(urls)))
        with self.engine.connect() as connection:
            rows = connection.execute(query)
            return {
                row.name: Validators(row.etag, row.last_modified, row.body_hash)
                for row in rows
                if urls.get(row.name) == row.url
            }

    def save_validators(self, name: str, url: str, validators: Validators) -> None:
        self.save_all_validators([(name, url, validators)])

    def save_all_validators(self, saved: list[tuple[str, str, Validators]]) -> None:
        """Validators of many sources (name, URL, validators), in one transaction."""
        if not saved:
            return
        statement = (
            update(sources)
            .where(sources.c.name == bindparam("b_name"))
            .values(
                url=bindparam("b_url"),
                etag=bindparam("b_etag"),
                last_modified=bindparam("b_last_modified"),
                body_hash=bindparam("b_body_hash"),
            )
        )
        with self.engine.begin() as connection:
            self._ensure_all(connection, {name: url for name, url, _ in saved})
            connection.execute(
                statement,
                [
                    {
                        "b_name": name,
                        "b_url": url,
                        "b_etag": validators.etag,
                        "b_last_modified": validators.last_modified,
                        "b_body_hash": validators.body_hash,
                    }
                    for name, url, validators in saved
                ],
            )

    def record(self, name: str, url: str, outcome: Outcome, now: datetime | None = None) -> None:
        """The result of one fetch of a source."""
        self.record_all([(name, url, outcome)], now)

    def record_all(
        self, results: list[tuple[str, str, Outcome]], now: datetime | None = None
    ) -> None:
        """The results (name, URL, outcome) of fetches of many sources, in one transaction:
        one UPDATE per kind of outcome, run for all of its sources at once."""
        if not results:
            return
        now = now or datetime.now(UTC)
        shapes: dict[tuple[str, bool], list[dict[str, object]]] = {}
        for name, url, outcome in results:
            values: dict[str, object] = {
                "b_name": name,
                "b_url": url,
                "b_status": outcome.status,
                "b_failed": outcome.failed,
                "b_failure": outcome.failure,
            }
            if outcome.status in ("error", "interrupted"):
                values["b_error"] = outcome.summary
            else:
                values["b_problem"] = outcome.problem
                if outcome.status == "ok":
                    values.update(
                        b_entries=outcome.entries,
                        b_new=outcome.new,
                        b_resolution=json.dumps(outcome.resolution, sort_keys=True)
                        if outcome.resolution
                        else None,
                    )
            kind = outcome.status if outcome.status in ("error", "ok", "interrupted") else "other"
            shapes.setdefault((kind, bool(outcome.new)), []).append(values)
        with self.engine.begin() as connection:
            self._ensure_all(connection, {name: url for name, url, _ in results})
            for (kind, new), rows in shapes.items():
                connection.execute(_record_statement(kind, new, now), rows)

    def save_schedule(
        self,
        name: str,
        url: str,
        interval: float,
        next_run_at: datetime,
        schedule_error: str | None = None,
        last_worker: str | None = None,
    ) -> None:
        """The next run `newsmon run` or `newsmon schedule` planned, why it had to guess it
        (None: it did not), and, in the distributed mode, the `newsmon worker` that ran the
        last pass. One statement and one commit a pass: the row is made only the first time."""
        values = {
            "url": url,
            "interval": interval,
            "next_run_at": next_run_at,
            "schedule_error": schedule_error,
        }
        if last_worker is not None:
            values["last_worker"] = last_worker
        statement = update(sources).where(sources.c.name == name).values(**values)
        with self.engine.begin() as connection:
            if connection.execute(statement).rowcount == 0:
                self._ensure_all(connection, {name: url})
                connection.execute(statement)

    def new_articles_since(self, since: datetime) -> dict[str, int]:
        """Articles stored since `since`, per source name."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(articles.c.source, func.count())
                .where(articles.c.fetched_at >= since)
                .group_by(articles.c.source)
            )
            return {source: count for source, count in rows}

    def due_for_recheck(
        self,
        urls: list[str],
        every: float,
        window: float,
        now: datetime | None = None,
        headline_only: bool = False,
    ) -> set[str]:
        """Which of these stored URLs to fetch again for updates: first fetched within
        `window` seconds and not checked for `every` seconds; with `headline_only`, only
        articles whose page gave no text yet."""
        now = now or datetime.now(UTC)
        due: set[str] = set()
        only = articles.c.text_source == "feed" if headline_only else true()
        with self.engine.connect() as connection:
            for start in range(0, len(urls), 500):
                due.update(
                    connection.execute(
                        select(article_urls.c.url)
                        .join(articles, articles.c.id == article_urls.c.article_id)
                        .where(
                            article_urls.c.url.in_(urls[start : start + 500]),
                            articles.c.url == article_urls.c.url,
                            articles.c.fetched_at >= now - timedelta(seconds=window),
                            only,
                            or_(
                                articles.c.checked_at.is_(None),
                                articles.c.checked_at <= now - timedelta(seconds=every),
                            ),
                        )
                    ).scalars()
                )
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


def _record_statement(kind: str, new: bool, now: datetime) -> Update:
    """The UPDATE recording one kind of outcome (error, ok, or not modified / unchanged),
    parameters prefixed `b_` (SQLAlchemy reserves column names for bound values)."""
    values: dict[str, object] = {
        "url": bindparam("b_url"),
        "last_fetch_at": now,
        "last_status": bindparam("b_status"),
        "passes": sources.c.passes + 1,
        "last_failed": bindparam("b_failed"),
        "last_failure": bindparam("b_failure"),
    }
    if new:
        values["last_new_at"] = now
    if kind == "interrupted":  # neither a success nor a failure of the source: its reason
        values["last_error"] = bindparam("b_error")
    elif kind == "error":
        values.update(
            last_error=bindparam("b_error"),
            consecutive_failures=sources.c.consecutive_failures + 1,
        )
    else:
        values.update(
            last_error=None,
            last_success_at=now,
            consecutive_failures=0,
            last_problem=bindparam("b_problem"),
        )
        if kind == "ok":
            values.update(
                last_entries=bindparam("b_entries"),
                last_new=bindparam("b_new"),
                last_resolution=bindparam("b_resolution"),
            )
    return update(sources).where(sources.c.name == bindparam("b_name")).values(**values)


def source_flags(
    row: dict[str, Any], enabled: bool, now: datetime, silent_after: timedelta
) -> list[str]:
    """Why a source needs a look; a broken source must never fail silently."""
    if not enabled:
        return ["disabled"]
    flags = []
    if row.get("consecutive_failures"):
        flags.append("FAILING")
    if row.get("last_status") == "interrupted":
        flags.append("INTERRUPTED")
    elif row.get("last_failed"):
        flags.append("DEGRADED")  # the source answered, but articles of its pass failed
    if row.get("schedule_error"):
        flags.append("SCHEDULE ERROR")
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
