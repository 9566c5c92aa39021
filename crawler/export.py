"""Reading stored articles for review: export records (JSONL, CSV) and the `hits` listing.

The record fields are a public contract (README, "Export fields"): add, never rename.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import Engine, Select, select

from crawler.crawl_state import as_utc
from crawler.schema import article_topics, article_urls, articles

FIELDS = (
    "id", "url", "seen_urls", "source", "title", "author", "published", "fetched_at",
    "language", "text", "topics", "matches", "duplicate_of",
)  # fmt: skip
LIST_SEPARATOR = "|"
# Spreadsheets run a cell that starts with one of these as a formula: scraped text is hostile.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _iso(moment: datetime | None) -> str | None:
    moment = as_utc(moment)
    return moment.astimezone(UTC).isoformat() if moment else None


def article_query(topic: str | None = None, since: datetime | None = None,
                  tagged: bool = False) -> Select[Any]:  # fmt: skip
    """Articles oldest first; with `topic` only those tagged with it, with `tagged` any topic."""
    query = select(articles).order_by(articles.c.fetched_at, articles.c.id)
    if topic or tagged:
        tags = select(article_topics.c.article_id)
        if topic:
            tags = tags.where(article_topics.c.topic == topic)
        query = query.where(articles.c.id.in_(tags))
    if since:
        query = query.where(articles.c.fetched_at >= since)
    return query


def iter_records(engine: Engine, topic: str | None = None, since: datetime | None = None,
                 newest_first: bool = False, limit: int | None = None, tagged: bool = False,
                 batch: int = 500) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Export records, oldest first (or newest first), fetched in batches."""
    query = article_query(topic, since, tagged).with_only_columns(
        *(column for column in articles.c if column.name != "html")
    )
    if newest_first:
        query = query.order_by(None).order_by(articles.c.fetched_at.desc(), articles.c.id.desc())
    if limit:
        query = query.limit(limit)
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=batch).execute(query).mappings()
        for rows in result.partitions():
            yield from _records(connection, rows)


def _records(connection, rows: list[Any]) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
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
        }


def write_jsonl(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Same columns as JSONL; lists joined by `|`, `matches` as topic:term;term|topic:term.

    A text cell that a spreadsheet would run as a formula gets a leading `'`.
    """
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    count = 0
    for record in records:
        row = dict(record)
        row["seen_urls"] = LIST_SEPARATOR.join(record["seen_urls"])
        row["topics"] = LIST_SEPARATOR.join(record["topics"])
        row["matches"] = LIST_SEPARATOR.join(
            f"{topic}:{';'.join(terms)}" for topic, terms in record["matches"].items()
        )
        writer.writerow({key: _cell(value) for key, value in row.items()})
        count += 1
    return count
