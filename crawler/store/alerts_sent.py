"""What the alerts sent and still owe: the hits an alert rule has not sent yet, and the record
of each attempt (`alert_deliveries`, `alert_events`).

Place in the flow: the store, read and written by `crawler.alerts` only. A row is written
after its send, in one transaction per message: its key (rule, article) makes a second send
impossible once recorded, and a crash between the send and that transaction sends at most one
duplicate. A failed send keeps the row unsent with the attempts made, the error and when to
try again; after `MAX_ATTEMPTS` the alert is given up (`next_attempt_at` empty).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, exists, func, or_, select, text, update

from crawler.schedule.polling import Policy, backoff
from crawler.store.crawl_state import as_utc
from crawler.store.queries import records_of
from crawler.store.schema import alert_deliveries, alert_events, article_topics, articles, reviews

__all__ = [
    "MAX_ATTEMPTS",
    "RuleStatus",
    "daily_counts",
    "event_due",
    "pending_hits",
    "record_deliveries",
    "record_event",
    "retry_delay",
    "rule_status",
    "sole_sender",
]

MAX_ATTEMPTS = 10  # a minute, doubling to an hour: about 6 hours before an alert is given up
# The back-off of a failing source (crawler.schedule.polling), from a minute to an hour.
RETRY = Policy(every=60, min_every=60, max_every=3600, max_backoff=3600, jitter=0)
_COLUMNS = [c for c in articles.c if c.name not in ("html", "signature")]
SENDER_LOCK = 0x6E65_7773_6D6F_6E01  # PostgreSQL advisory lock key: "newsmon" + 1 (alerts)


def retry_delay(attempts: int) -> timedelta:
    """The wait before the next attempt after `attempts` failed ones."""
    return timedelta(seconds=backoff(RETRY, RETRY.every, attempts - 1))


def _settled(table: Table, rule: str, now: datetime) -> Any:
    """Rows of `rule` not to send now: sent, given up, or waiting for their next attempt."""
    return and_(
        table.c.rule == rule,
        or_(
            table.c.sent_at.is_not(None),
            table.c.next_attempt_at.is_(None),
            table.c.next_attempt_at > now,
        ),
    )


def pending_hits(
    engine: Engine,
    rule: str,
    topics: Iterable[str] | None,
    since: datetime,
    until: datetime | None,
    now: datetime,
    originals_only: bool = False,
    review: str | None = None,
) -> list[dict[str, Any]]:
    """Export records of the articles tagged with `topics` (None: any) that `rule` has not sent:
    fetched from `since` (and before `until`) and never attempted, or failed before and due
    again now (whenever fetched). Oldest first."""
    tagged = exists().where(article_topics.c.article_id == articles.c.id)
    if topics is not None:
        tagged = tagged.where(article_topics.c.topic.in_(list(topics)))
    fresh = [articles.c.fetched_at >= since]
    if until is not None:
        fresh.append(articles.c.fetched_at < until)
    attempted = select(alert_deliveries.c.article_id).where(alert_deliveries.c.rule == rule)
    retry = select(alert_deliveries.c.article_id).where(
        alert_deliveries.c.rule == rule,
        alert_deliveries.c.sent_at.is_(None),
        alert_deliveries.c.next_attempt_at <= now,
    )
    query = (
        select(*_COLUMNS)
        .where(
            tagged,
            or_(and_(*fresh, articles.c.id.not_in(attempted)), articles.c.id.in_(retry)),
        )
        .order_by(articles.c.fetched_at, articles.c.id)
    )
    if originals_only:
        query = query.where(articles.c.duplicate_of.is_(None))
    if review == "unreviewed":
        judged = select(reviews.c.article_id).where(reviews.c.verdict.is_not(None))
        query = query.where(articles.c.id.not_in(judged))
    elif review == "relevant":
        query = query.where(
            articles.c.id.in_(select(reviews.c.article_id).where(reviews.c.verdict == "relevant"))
        )
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
        return list(records_of(connection, rows)) if rows else []


def _record(
    connection: Connection,
    table: Table,
    key: dict[str, Any],
    now: datetime,
    error: str | None,
) -> None:
    where = and_(*(table.c[name] == value for name, value in key.items()))
    attempts = connection.execute(select(table.c.attempts).where(where)).scalar()
    tries = (attempts or 0) + 1
    if error is None:
        values: dict[str, Any] = {"sent_at": now, "last_error": None, "next_attempt_at": None}
    else:
        again = now + retry_delay(tries) if tries < MAX_ATTEMPTS else None
        values = {"sent_at": None, "last_error": error, "next_attempt_at": again}
    values["attempts"] = tries
    if attempts is None:
        connection.execute(table.insert().values(**key, **values))
    else:
        connection.execute(update(table).where(where).values(**values))


def record_deliveries(
    engine: Engine, rule: str, article_ids: Iterable[int], now: datetime, error: str | None
) -> None:
    """One message of `rule` about these articles was sent (`error` None) or failed: recorded
    in one transaction."""
    with engine.begin() as connection:
        for article_id in article_ids:
            _record(
                connection, alert_deliveries, {"rule": rule, "article_id": article_id}, now, error
            )


def event_due(engine: Engine, rule: str, event: str, now: datetime) -> bool:
    """Whether the alert of `rule` about `event` is still to send (never tried, or due again)."""
    with engine.connect() as connection:
        settled = connection.execute(
            select(func.count())
            .select_from(alert_events)
            .where(_settled(alert_events, rule, now), alert_events.c.event == event)
        ).scalar()
    return not settled


def record_event(engine: Engine, rule: str, event: str, now: datetime, error: str | None) -> None:
    with engine.begin() as connection:
        _record(connection, alert_events, {"rule": rule, "event": event}, now, error)


@dataclass(frozen=True)
class RuleStatus:
    """What a rule sent and owes, for `newsmon alerts status`."""

    rule: str
    sent: int = 0  # articles and events sent
    failing: int = 0  # waiting for another attempt
    given_up: int = 0
    last_sent_at: datetime | None = None
    last_error: str | None = None  # of the alert that failed last
    next_attempt_at: datetime | None = None  # the earliest retry


def rule_status(engine: Engine, rules: Iterable[str]) -> dict[str, RuleStatus]:
    found: dict[str, dict[str, Any]] = {rule: {"rule": rule} for rule in rules}
    with engine.connect() as connection:
        for table in (alert_deliveries, alert_events):
            rows = connection.execute(
                select(
                    table.c.rule,
                    table.c.sent_at,
                    table.c.next_attempt_at,
                    table.c.last_error,
                    table.c.attempts,
                )
            ).mappings()
            for row in rows:
                status = found.setdefault(row["rule"], {"rule": row["rule"]})
                sent_at, again = as_utc(row["sent_at"]), as_utc(row["next_attempt_at"])
                if sent_at is not None:
                    status["sent"] = status.get("sent", 0) + 1
                    if status.get("last_sent_at") is None or sent_at > status["last_sent_at"]:
                        status["last_sent_at"] = sent_at
                    continue
                status["last_error"] = row["last_error"]
                if again is None:
                    status["given_up"] = status.get("given_up", 0) + 1
                    continue
                status["failing"] = status.get("failing", 0) + 1
                if status.get("next_attempt_at") is None or again < status["next_attempt_at"]:
                    status["next_attempt_at"] = again
    return {rule: RuleStatus(**values) for rule, values in found.items()}


def daily_counts(
    engine: Engine, topics: Iterable[str], bounds: list[datetime]
) -> tuple[dict[str, list[int]], datetime | None]:
    """Articles tagged with each topic fetched within each interval of `bounds` (n + 1
    instants make n intervals), and when the first article of the store was fetched (None:
    none yet), for spike alerts."""
    names = list(topics)
    counts = {topic: [0] * (len(bounds) - 1) for topic in names}
    with engine.connect() as connection:
        first = as_utc(connection.execute(select(func.min(articles.c.fetched_at))).scalar())
        rows = connection.execute(
            select(article_topics.c.topic, articles.c.fetched_at)
            .join(articles, articles.c.id == article_topics.c.article_id)
            .where(
                article_topics.c.topic.in_(names),
                articles.c.fetched_at >= bounds[0],
                articles.c.fetched_at < bounds[-1],
            )
        )
        for topic, fetched_at in rows:
            index = bisect_right(bounds, as_utc(fetched_at)) - 1
            if 0 <= index < len(bounds) - 1:
                counts[topic][index] += 1
    return counts, first


@contextmanager
def sole_sender(engine: Engine) -> Iterator[bool]:
    """True while this process is the only one sending alerts from this store, False when
    another holds that role now (it sends; this one skips its check). On PostgreSQL, where
    several `newsmon run` may share a store, a session advisory lock held for the check;
    SQLite stores are used from one host, and the service runs one check at a time."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        held = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": SENDER_LOCK}
            ).scalar()
        )
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SENDER_LOCK})
                connection.commit()
