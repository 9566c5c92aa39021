"""Read queries of the review: stored articles as export records, copies, stories, versions.

The record fields (`FIELDS`) are a public contract (docs/exports.md, "Fields"): add, never
rename.
Writing them out (JSONL, CSV) is `crawler.review.export`'s job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Select, exists, func, select

from crawler.store.crawl_state import as_utc
from crawler.store.reviews import UnknownArticle
from crawler.store.schema import article_topics, article_urls, article_versions, articles, reviews

__all__ = [
    "FIELDS",
    "LIST_SEPARATOR",
    "copies_of",
    "count_articles",
    "iter_records",
    "list_stories",
    "records_of",
    "versions_of",
]

FIELDS = (
    "id",
    "url",
    "seen_urls",
    "source",
    "title",
    "author",
    "published",
    "fetched_at",
    "language",
    "text",
    "topics",
    "matches",
    "duplicate_of",
    "review",
    "story_id",
    "updated_at",
    "copies",
    "text_source",
    "publisher",
)
LIST_SEPARATOR = "|"


def _iso(moment: datetime | None) -> str | None:
    moment = as_utc(moment)
    return moment.astimezone(UTC).isoformat() if moment else None


def article_query(
    topic: str | None = None,
    since: datetime | None = None,
    tagged: bool = False,
    originals: bool = False,
) -> Select[Any]:
    """Articles oldest first; with `topic` only those tagged with it, with `tagged` any topic,
    with `originals` no near copies."""
    query = select(articles).order_by(articles.c.fetched_at, articles.c.id)
    if originals:
        query = query.where(articles.c.duplicate_of.is_(None))
    if topic or tagged:
        # EXISTS, not IN: SQLite then walks the date index and stops after a page.
        tags = exists().where(article_topics.c.article_id == articles.c.id)
        if topic:
            tags = tags.where(article_topics.c.topic == topic)
        query = query.where(tags)
    if since:
        query = query.where(articles.c.fetched_at >= since)
    return query


def iter_records(
    engine: Engine,
    topic: str | None = None,
    since: datetime | None = None,
    newest_first: bool = False,
    limit: int | None = None,
    tagged: bool = False,
    originals: bool = False,
    batch: int = 500,
) -> Iterator[dict[str, Any]]:
    """Export records, oldest first (or newest first), fetched in batches."""
    query = article_query(topic, since, tagged, originals).with_only_columns(
        *(column for column in articles.c if column.name not in ("html", "signature"))
    )
    if newest_first:
        query = query.order_by(None).order_by(articles.c.fetched_at.desc(), articles.c.id.desc())
    if limit:
        query = query.limit(limit)
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=batch).execute(query).mappings()
        for rows in result.partitions():
            yield from records_of(connection, rows)


def records_of(connection, rows: list[Any]) -> Iterator[dict[str, Any]]:
    ids = [row["id"] for row in rows]
    urls: dict[int, list[str]] = {}
    for article_id, url in connection.execute(
        select(article_urls.c.article_id, article_urls.c.url)
        .where(article_urls.c.article_id.in_(ids))
        .order_by(article_urls.c.url)
    ):
        urls.setdefault(article_id, []).append(url)
    matches: dict[int, dict[str, list[str]]] = {}
    for article_id, topic, terms in connection.execute(
        select(article_topics.c.article_id, article_topics.c.topic, article_topics.c.terms)
        .where(article_topics.c.article_id.in_(ids))
        .order_by(article_topics.c.topic)
    ):
        matches.setdefault(article_id, {})[topic] = list(terms)
    decisions = {
        review.article_id: {
            "verdict": review.verdict,
            "starred": bool(review.starred),
            "note": review.note,
            "reviewed_at": _iso(review.reviewed_at),
        }
        for review in connection.execute(select(reviews).where(reviews.c.article_id.in_(ids)))
    }
    copies = dict(
        connection.execute(
            select(articles.c.duplicate_of, func.count())
            .where(articles.c.duplicate_of.in_(ids))
            .group_by(articles.c.duplicate_of)
        ).all()
    )
    for row in rows:
        found = matches.get(row["id"], {})
        yield {
            "id": row["id"],
            "url": row["url"],
            "seen_urls": [url for url in urls.get(row["id"], []) if url != row["url"]],
            "source": row["source"],
            "title": row["title"],
            "author": row["author"],
            "published": _iso(row["published"]),
            "fetched_at": _iso(row["fetched_at"]),
            "language": row["language"],
            "text": row["text"],
            "topics": list(found),
            "matches": found,
            "duplicate_of": row["duplicate_of"],
            "review": decisions.get(row["id"]),
            "story_id": row["story_id"],
            "updated_at": _iso(row["updated_at"]),
            "copies": copies.get(row["id"], 0),
            "text_source": row["text_source"],
            "publisher": row["publisher"],
        }


def copies_of(engine: Engine, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The near copies of these articles, oldest first: id, source, title, url."""
    found: dict[int, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                articles.c.id,
                articles.c.duplicate_of,
                articles.c.source,
                articles.c.title,
                articles.c.url,
            )
            .where(articles.c.duplicate_of.in_(ids))
            .order_by(articles.c.fetched_at, articles.c.id)
        ).mappings()
        for row in rows:
            found.setdefault(row["duplicate_of"], []).append(dict(row))
    return found


@dataclass
class Story:
    id: int
    articles: int
    outlets: list[str]
    languages: list[str]
    first_seen: datetime
    title: str  # its first article's


def list_stories(
    engine: Engine, topic: str | None = None, since: datetime | None = None, min_articles: int = 1
) -> list[Story]:
    """Stories with an article fetched since `since` (and tagged `topic`), largest first."""
    with engine.connect() as connection:
        members = select(articles.c.story_id).where(articles.c.story_id.is_not(None))
        if since:
            members = members.where(articles.c.fetched_at >= since)
        if topic:
            tagged = select(article_topics.c.article_id).where(article_topics.c.topic == topic)
            members = members.where(articles.c.id.in_(tagged))
        rows = connection.execute(
            select(
                articles.c.story_id,
                articles.c.source,
                articles.c.language,
                articles.c.fetched_at,
                articles.c.title,
                articles.c.id,
            )
            .where(articles.c.story_id.in_(members))
            .order_by(articles.c.fetched_at, articles.c.id)
        ).all()
    stories: dict[int, Story] = {}
    for row in rows:
        story = stories.get(row.story_id)
        if story is None:
            first_seen = as_utc(row.fetched_at)
            story = Story(row.story_id, 0, [], [], first_seen, row.title or "")
            stories[row.story_id] = story
        story.articles += 1
        if row.source not in story.outlets:
            story.outlets.append(row.source)
        if row.language and row.language not in story.languages:
            story.languages.append(row.language)
    found = [story for story in stories.values() if story.articles >= min_articles]
    return sorted(found, key=lambda story: (-story.articles, story.first_seen))


def versions_of(engine: Engine, article_id: int) -> list[dict[str, Any]]:
    """Earlier texts of an article, oldest first, each with what the next one changed.
    Raises UnknownArticle when no article has that id."""
    with engine.connect() as connection:
        found = select(articles.c.id).where(articles.c.id == article_id)
        if connection.execute(found).first() is None:
            raise UnknownArticle(f"no article with id {article_id}")
        rows = (
            connection.execute(
                select(article_versions)
                .where(article_versions.c.article_id == article_id)
                .order_by(article_versions.c.replaced_at)
            )
            .mappings()
            .all()
        )
    return [
        {**row, "fetched_at": _iso(row["fetched_at"]), "replaced_at": _iso(row["replaced_at"])}
        for row in rows
    ]


def count_articles(engine: Engine) -> int:
    """How many articles the store holds, copies included."""
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(articles)).scalar_one()
