"""Review decisions on stored articles, and what they teach about the topics.

Place in the flow: after the store, beside the exports. Analysts mark hits relevant or
irrelevant (one at a time, or a page of them at once: `set_reviews`), star them and add a
note, in `newsmon serve` or with `newsmon review`. Decisions live in their own table
(`reviews`), which re-tagging never touches, so a decision outlives a change of topics.
Starring is independent of the verdict, as in feed readers.

From the decisions: `topic_quality` (the share of reviewed hits judged relevant per topic,
and the terms that most often led to irrelevant hits) and, for the dashboard, `daily_hits`
(hits of each topic), `daily_articles` (tagged articles, each counted once) and `top_outlets`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, func, insert, literal_column, select, update
from sqlalchemy.exc import IntegrityError

from crawler.errors import UnknownArticle
from crawler.store.crawl_state import as_utc
from crawler.store.schema import article_topics, articles, reviews

__all__ = [
    "ACTIONS",
    "DailyArticles",
    "Review",
    "TermQuality",
    "TopicQuality",
    "UnknownArticle",
    "daily_articles",
    "daily_hits",
    "mark_of",
    "review_marks",
    "reviews_for",
    "set_review",
    "set_reviews",
    "topic_quality",
    "top_outlets",
]

VERDICTS = ("relevant", "irrelevant")
# What an analyst can do to an article: give a verdict, star or unstar it, take the verdict
# back, or only write a note.
ACTIONS = (*VERDICTS, "star", "unstar", "clear", "note")


@dataclass(frozen=True)
class Review:
    article_id: int
    verdict: str | None  # relevant, irrelevant, or None
    starred: bool
    note: str | None
    reviewed_at: datetime

    @property
    def mark(self) -> str:
        """Short form for tables: `relevant`, `irrelevant ★`, `★`, or `` when only noted."""
        return mark_of({"verdict": self.verdict, "starred": self.starred})


def _review(row: Any) -> Review:
    return Review(
        row.article_id,
        row.verdict,
        bool(row.starred),
        row.note,
        as_utc(row.reviewed_at) or datetime.now(UTC),
    )


def reviews_for(connection: Connection, ids: Iterable[int]) -> dict[int, Review]:
    ids = list(ids)
    found: dict[int, Review] = {}
    for start in range(0, len(ids), 500):  # stay under bound-parameter limits
        query = select(reviews).where(reviews.c.article_id.in_(ids[start : start + 500]))
        found.update((row.article_id, _review(row)) for row in connection.execute(query))
    return found


def mark_of(review: dict[str, Any] | None) -> str:
    """The short mark of an export record's `review` field (`newsmon hits`)."""
    if not review:
        return ""
    return " ".join(p for p in (review.get("verdict"), "★" if review.get("starred") else None) if p)


def review_marks(engine: Engine, ids: Iterable[int]) -> dict[int, str]:
    """Article id -> its short review mark, for articles that have one (`newsmon hits`)."""
    with engine.connect() as connection:
        marks = {i: review.mark for i, review in reviews_for(connection, ids).items()}
    return {i: mark for i, mark in marks.items() if mark}


def set_review(
    engine: Engine,
    article_id: int,
    action: str,
    note: str | None = None,
    now: datetime | None = None,
) -> Review:
    """Apply one of `ACTIONS` to an article; a `note` (even empty, which removes it) replaces
    the previous one. Raises UnknownArticle, ValueError for an unknown action."""
    if action not in ACTIONS:
        raise ValueError(f"unknown review action {action!r}: use one of {', '.join(ACTIONS)}")
    now = now or datetime.now(UTC)
    for attempt in range(2):
        try:
            with engine.begin() as connection:
                _check_ids(connection, [article_id])
                current = reviews_for(connection, [article_id]).get(article_id)
                return _apply(connection, article_id, action, note, now, current)
        except IntegrityError:
            if attempt:  # two first decisions raced to insert: the second one updates
                raise
    raise AssertionError("unreachable")


def set_reviews(
    engine: Engine, article_ids: Sequence[int], action: str, now: datetime | None = None
) -> list[Review]:
    """Apply one action (a verdict, `clear`, `star`, `unstar`; not `note`) to several articles
    in one transaction: all of them or, when one id names no article, none (UnknownArticle
    names the missing ids). Notes are kept."""
    if action not in ACTIONS or action == "note":
        raise ValueError(f"unknown bulk review action {action!r}")
    ids = list(dict.fromkeys(article_ids))
    now = now or datetime.now(UTC)
    with engine.begin() as connection:
        _check_ids(connection, ids)
        current = reviews_for(connection, ids)  # read at once, not one query per article
        return [_apply(connection, i, action, None, now, current.get(i)) for i in ids]


def _check_ids(connection: Connection, ids: list[int]) -> None:
    """Raise UnknownArticle naming the ids (the first ten) that name no article."""
    found: set[int] = set()
    for start in range(0, len(ids), 500):  # stay under bound-parameter limits
        chunk = ids[start : start + 500]
        found.update(
            connection.execute(select(articles.c.id).where(articles.c.id.in_(chunk))).scalars()
        )
    if missing := [i for i in ids if i not in found]:
        raise UnknownArticle(f"no article with id {', '.join(map(str, missing[:10]))}")


def _apply(
    connection: Connection,
    article_id: int,
    action: str,
    note: str | None,
    now: datetime,
    current: Review | None,
) -> Review:
    verdict = current.verdict if current else None
    starred = current.starred if current else False
    if action in VERDICTS:
        verdict = action
    elif action == "clear":
        verdict = None
    elif action in ("star", "unstar"):
        starred = action == "star"
    if note is None:
        note = current.note if current else None
    note = (note or "").strip() or None
    values = {"verdict": verdict, "starred": starred, "note": note, "reviewed_at": now}
    if current is None:
        connection.execute(insert(reviews).values(article_id=article_id, **values))
    else:
        connection.execute(
            update(reviews).where(reviews.c.article_id == article_id).values(**values)
        )
    return Review(article_id, **values)


@dataclass
class TermQuality:
    term: str
    relevant: int = 0
    irrelevant: int = 0


@dataclass
class TopicQuality:
    topic: str
    hits: int = 0
    relevant: int = 0
    irrelevant: int = 0
    # Terms of the reviewed hits, those behind the most irrelevant hits first.
    terms: list[TermQuality] = field(default_factory=list)

    @property
    def reviewed(self) -> int:
        return self.relevant + self.irrelevant

    @property
    def precision(self) -> float | None:
        """Share of the reviewed hits judged relevant; None before any verdict."""
        return self.relevant / self.reviewed if self.reviewed else None


def topic_quality(engine: Engine, topics: Sequence[str] = ()) -> list[TopicQuality]:
    """Per topic (the configured ones in their order, then any other found in the store)."""
    with engine.connect() as connection:
        counts = dict(
            connection.execute(
                select(article_topics.c.topic, func.count()).group_by(article_topics.c.topic)
            ).all()
        )
        judged = connection.execute(
            select(article_topics.c.topic, article_topics.c.terms, reviews.c.verdict)
            .join(reviews, reviews.c.article_id == article_topics.c.article_id)
            .where(reviews.c.verdict.is_not(None))
        ).all()
    quality = {name: TopicQuality(name) for name in [*topics, *sorted(counts)]}
    terms: dict[str, dict[str, TermQuality]] = {}
    for topic, found, verdict in judged:
        entry = quality.setdefault(topic, TopicQuality(topic))
        setattr(entry, verdict, getattr(entry, verdict) + 1)
        for term in found:
            stats = terms.setdefault(topic, {}).setdefault(term, TermQuality(term))
            setattr(stats, verdict, getattr(stats, verdict) + 1)
    for name, entry in quality.items():
        entry.hits = counts.get(name, 0)
        entry.terms = sorted(
            terms.get(name, {}).values(), key=lambda t: (-t.irrelevant, t.relevant, t.term)
        )
    return list(quality.values())


def _hit_moment() -> Any:
    """When a hit arrived, for the dashboard: when it was fetched, as `newsmon hits --since`
    counts (publication dates may be missing, or years old in a first crawl)."""
    return articles.c.fetched_at


def _hit_date(dialect: str) -> Any:
    """The day of a hit, as YYYY-MM-DD in UTC."""
    moment = _hit_moment()
    if dialect == "postgresql":
        return func.to_char(
            func.timezone(literal_column("'UTC'"), moment), literal_column("'YYYY-MM-DD'")
        )
    return func.substr(moment, 1, 10)  # SQLite keeps datetimes as ISO text in UTC


def _window(days: int, now: datetime | None) -> tuple[list[date], datetime]:
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    dates = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    return dates, datetime.combine(dates[0], datetime.min.time(), UTC)


def daily_hits(
    engine: Engine, days: int = 30, now: datetime | None = None
) -> tuple[list[date], dict[str, list[int]]]:
    """The last `days` days (oldest first) and, per topic, its hits on each of them."""
    dates, start = _window(days, now)
    day = _hit_date(engine.dialect.name).label("day")
    query = (
        select(day, article_topics.c.topic, func.count())
        .join(article_topics, article_topics.c.article_id == articles.c.id)
        .where(_hit_moment() >= start)
        .group_by(day, article_topics.c.topic)
    )
    index = {d.isoformat(): n for n, d in enumerate(dates)}
    series: dict[str, list[int]] = {}
    with engine.connect() as connection:
        for when, topic, count in connection.execute(query):
            if when in index:
                series.setdefault(topic, [0] * days)[index[when]] += count
    return dates, dict(sorted(series.items()))


@dataclass
class DailyArticles:
    """Tagged articles per day, each counted once: `single[topic]` those with that topic
    alone, `single[None]` those with several topics; `totals` their sum per day."""

    dates: list[date]
    single: dict[str | None, list[int]]

    @property
    def totals(self) -> list[int]:
        return [sum(values[i] for values in self.single.values()) for i in range(len(self.dates))]


def daily_articles(engine: Engine, days: int = 30, now: datetime | None = None) -> DailyArticles:
    """The tagged articles of each of the last `days` days, each counted once (an article
    with two topics is one article, not two hits), split by topic for those with one topic."""
    dates, start = _window(days, now)
    day = _hit_date(engine.dialect.name).label("day")
    per_article = (
        select(
            day,
            func.count().label("topics"),
            func.min(article_topics.c.topic).label("topic"),
        )
        .join(article_topics, article_topics.c.article_id == articles.c.id)
        .where(_hit_moment() >= start)
        .group_by(articles.c.id, day)
        .subquery()
    )
    alone = case((per_article.c.topics == 1, per_article.c.topic), else_=None).label("alone")
    query = select(per_article.c.day, alone, func.count()).group_by(per_article.c.day, alone)
    index = {d.isoformat(): n for n, d in enumerate(dates)}
    single: dict[str | None, list[int]] = {}
    with engine.connect() as connection:
        for when, topic, count in connection.execute(query):
            if when in index:
                single.setdefault(topic, [0] * days)[index[when]] += count
    return DailyArticles(dates, single)


def top_outlets(
    engine: Engine, days: int = 30, now: datetime | None = None, limit: int = 10
) -> list[tuple[str, int]]:
    """Sources with the most hits over the last `days` days."""
    _, start = _window(days, now)
    tagged = select(article_topics.c.article_id)
    query = (
        select(articles.c.source, func.count())
        .where(articles.c.id.in_(tagged), _hit_moment() >= start)
        .group_by(articles.c.source)
    )
    with engine.connect() as connection:
        counts = Counter(dict(connection.execute(query).all()))
    return counts.most_common(limit)
