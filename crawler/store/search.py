"""Finding hits: the filters, full-text search, sort orders and pages of the hits list.

Place in the flow: the read side of the store, for `newsmon serve` and its downloads. Records
are the export records of `crawler.review.export` (same fields as `newsmon export`).

Full-text search runs on what the migrations built: an FTS5 table on SQLite (case and
accents folded), a stored `to_tsvector('simple', title || ' ' || text)` column with a GIN
index on PostgreSQL (case folded; accents count). A query is words, which must all appear, "quoted
phrases" and prefix* words. Only word characters reach the database, so no input can break
the query syntax of either engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    case,
    column,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
)

from crawler.store.crawl_state import as_utc
from crawler.store.queries import records_of
from crawler.store.schema import SEARCH_VECTOR, article_topics, articles, reviews
from crawler.store.states import REVIEW_STATES

__all__ = [
    "ALL_ARTICLES",
    "HitFilter",
    "HitPage",
    "KEPT",
    "PER_PAGE",
    "REVIEW_STATES",
    "SORTS",
    "article_record",
    "conditions",
    "facets",
    "hits_query",
    "iter_hits",
    "neighbors",
    "page_of_hits",
    "search_terms",
]

SORTS = ("published", "fetched")
KEPT = "kept"  # a review filter for feeds: all but the articles judged irrelevant
ALL_ARTICLES = "*"  # the topic filter that also lists untagged articles
PER_PAGE = 50
COUNT_LIMIT = 1_000  # matches counted exactly; beyond, a page says "1,000+"
STORY_SHOWN = 50  # articles of a story listed on an article page
DENSE = 2_000  # a search matching more articles reads pages along the sort order (`_matching`)

_TERM = re.compile(r'"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")
_FTS = table("articles_fts", column("rowid"))
# Every column but the kept page and the near-duplicate signature, which no listing needs.
_COLUMNS = [c for c in articles.c if c.name not in ("html", "signature")]


@dataclass(frozen=True)
class HitFilter:
    topic: str | None = None  # a topic name, None for any topic, ALL_ARTICLES for untagged too
    source: str | None = None
    language: str | None = None
    since: date | None = None  # inclusive, on the sort date
    until: date | None = None  # inclusive, on the sort date
    review: str | None = None  # one of REVIEW_STATES, or KEPT
    q: str = ""
    sort: str = "published"  # one of SORTS
    copies: bool = False  # list near copies too (else they are shown under their original)
    fetched_since: datetime | None = None  # fetched at or after this instant (`newsmon hits`)

    @property
    def sort_column(self) -> Any:
        return articles.c.fetched_at if self.sort == "fetched" else articles.c.published


@dataclass
class HitPage:
    records: list[dict[str, Any]]  # export records
    total: int
    page: int
    pages: int  # the pages of `total`
    more: bool = False  # there are more than `total` (counting stopped there)


def search_terms(q: str) -> list[tuple[tuple[str, ...], bool]]:
    """`q` as terms: (words, prefix). A phrase is several words; `word*` is a prefix."""
    terms = []
    for phrase, bare in _TERM.findall(q):
        words = tuple(_WORD.findall(phrase or bare))
        if words:
            terms.append((words, bool(bare) and bare.endswith("*")))
    return terms


def _fts5(terms: list[tuple[tuple[str, ...], bool]]) -> str:
    return " ".join(
        '"' + " ".join(words) + '"' + ("*" if prefix else "") for words, prefix in terms
    )


def _tsquery(terms: list[tuple[tuple[str, ...], bool]]) -> str:
    parts = []
    for words, prefix in terms:
        phrase = " <-> ".join(words)
        parts.append(f"({phrase}:*)" if prefix else f"({phrase})")
    return " & ".join(parts)


def _fts_match(terms: list[tuple[tuple[str, ...], bool]]) -> Any:
    return literal_column("articles_fts").op("MATCH")(_fts5(terms))


def _matching(q: str, dialect: str, plan: str) -> Any:
    """The articles matching the search `q`. SQLite's `plan` says how the planner should read
    them: "set" from the list of matches (few matches), "sorted" along the sort index,
    checking each article against the list of matches, built once (reading a whole list in
    order), "each" along the sort index, asking the search index about each article (a page
    of a search that matches many: no list of them all is built)."""
    terms = search_terms(q)
    if not terms:
        return None
    if dialect == "sqlite":
        if plan == "each":
            return exists().where(_fts_match(terms), _FTS.c.rowid == articles.c.id)
        found = select(_FTS.c.rowid).where(_fts_match(terms))
        # `id + 0` hides the key from the planner, which then walks the sort index.
        return (articles.c.id + 0 if plan == "sorted" else articles.c.id).in_(found)
    if dialect == "postgresql":
        query = func.to_tsquery(literal_column("'simple'"), _tsquery(terms))
        return SEARCH_VECTOR.op("@@")(query)
    # Other engines: every word somewhere in the title or text, without an index.
    document = func.lower(func.coalesce(articles.c.title, "") + " " + articles.c.text)
    return and_(*(document.contains(" ".join(w).lower()) for w, _ in terms))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def conditions(hits: HitFilter, dialect: str, plan: str = "set") -> list[Any]:
    """The WHERE clauses of `hits`; `plan` says how to read the matches of a search (see
    `_matching`)."""
    where: list[Any] = []
    if not hits.copies:
        where.append(articles.c.duplicate_of.is_(None))
    if hits.topic != ALL_ARTICLES:
        # EXISTS, not IN: SQLite then walks the sort index and stops after a page, where an
        # IN list made it fetch and sort every hit (100,000 articles: 0.1 ms against 250).
        tagged = exists().where(article_topics.c.article_id == articles.c.id)
        if hits.topic:
            tagged = tagged.where(article_topics.c.topic == hits.topic)
        where.append(tagged)
    if hits.source:
        where.append(articles.c.source == hits.source)
    if hits.language:
        where.append(articles.c.language == hits.language)
    if hits.since:
        where.append(hits.sort_column >= _day_start(hits.since))
    if hits.until:
        where.append(hits.sort_column < _day_start(hits.until + timedelta(days=1)))
    if hits.fetched_since:
        where.append(articles.c.fetched_at >= hits.fetched_since)
    if hits.review == "unreviewed":
        judged = select(reviews.c.article_id).where(reviews.c.verdict.is_not(None))
        where.append(articles.c.id.not_in(judged))
    elif hits.review in ("relevant", "irrelevant"):
        where.append(
            articles.c.id.in_(select(reviews.c.article_id).where(reviews.c.verdict == hits.review))
        )
    elif hits.review == KEPT:
        where.append(
            articles.c.id.not_in(
                select(reviews.c.article_id).where(reviews.c.verdict == "irrelevant")
            )
        )
    elif hits.review == "starred":
        where.append(articles.c.id.in_(select(reviews.c.article_id).where(reviews.c.starred)))
    matching = _matching(hits.q, dialect, plan) if hits.q else None
    if matching is not None:
        where.append(matching)
    return where


def _ordered(query: Select[Any], hits: HitFilter, reverse: bool = False) -> Select[Any]:
    """Newest first (nulls last: undated articles end the list); `reverse` is the exact
    opposite order, to look backwards from an article."""
    key = hits.sort_column
    if reverse:
        return query.order_by(case((key.is_(None), 0), else_=1), key, articles.c.id)
    return query.order_by(key.desc().nulls_last(), articles.c.id.desc())


def hits_query(hits: HitFilter, dialect: str) -> Select[Any]:
    """The listed articles, in list order, every column but the kept page."""
    return _ordered(select(*_COLUMNS).where(*conditions(hits, dialect, "sorted")), hits)


def page_of_hits(
    engine: Engine, hits: HitFilter, page: int = 1, per_page: int = PER_PAGE
) -> HitPage:
    """One page of the list of `hits`. Matches are counted up to COUNT_LIMIT (or to the
    requested page, if further): beyond, `more` is set and `total` is a lower bound."""
    dialect = engine.dialect.name
    with engine.connect() as connection:
        limit = max(COUNT_LIMIT, page * per_page)
        counted = _count(connection, hits, dialect, limit + 1)
        total, more = min(counted, limit), counted > limit
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        # The page's ids first, then their rows: sorting ids is cheap, sorting whole rows
        # (texts included) is not when a search or a filter defeats the sort index.
        where = conditions(hits, dialect, _page_plan(connection, hits, dialect))
        ids = (
            connection.execute(
                _ordered(select(articles.c.id).where(*where), hits)
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
            .scalars()
            .all()
        )
        rows = connection.execute(select(*_COLUMNS).where(articles.c.id.in_(ids))).mappings()
        by_id = {row["id"]: row for row in rows}
        ordered = [by_id[i] for i in ids if i in by_id]
        records = list(records_of(connection, ordered)) if ordered else []
    return HitPage(records, total, page, pages, more)


def _count(connection: Connection, hits: HitFilter, dialect: str, limit: int) -> int:
    """How many articles `hits` lists, counting no further than `limit`."""
    terms = search_terms(hits.q) if hits.q else []
    if terms and dialect == "sqlite":
        # Driven by the search index: matches stream in and counting stops at `limit`, where
        # `id IN (matches)` first builds the list of every match.
        rows = (
            select(literal(1))
            .select_from(_FTS.join(articles, _FTS.c.rowid == articles.c.id))
            .where(_fts_match(terms), *conditions(replace(hits, q=""), dialect))
        )
    else:
        rows = select(literal(1)).select_from(articles).where(*conditions(hits, dialect))
    return connection.execute(
        select(func.count()).select_from(rows.limit(limit).subquery())
    ).scalar_one()


def _page_plan(connection: Connection, hits: HitFilter, dialect: str) -> str:
    """How a page reads the matches of a search on SQLite: "set" when they are few, "each"
    when they are many (see `_matching`); the search index counts them up to DENSE."""
    terms = search_terms(hits.q) if hits.q else []
    if not terms or dialect != "sqlite":
        return "set"
    probe = select(_FTS.c.rowid).where(_fts_match(terms)).limit(DENSE + 1).subquery()
    found = connection.execute(select(func.count()).select_from(probe)).scalar_one()
    return "each" if found > DENSE else "set"


def iter_hits(
    engine: Engine, hits: HitFilter, limit: int | None = None, batch: int = 500
) -> Iterator[dict[str, Any]]:
    """The records of the filter, in list order (downloads, feeds)."""
    query = hits_query(hits, engine.dialect.name).limit(limit)
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=batch).execute(query).mappings()
        for rows in result.partitions():
            yield from records_of(connection, rows)


def neighbors(engine: Engine, hits: HitFilter, article_id: int) -> tuple[int | None, int | None]:
    """The articles before and after `article_id` in the list of `hits`, found by its place in
    the sort order, so that it works for an article the filter no longer lists (one just
    reviewed while triaging the unreviewed ones)."""
    key = hits.sort_column
    dialect = engine.dialect.name
    with engine.connect() as connection:
        current = connection.execute(select(key).where(articles.c.id == article_id)).first()
        if current is None:
            return None, None
        value = current[0]
        where = conditions(hits, dialect, _page_plan(connection, hits, dialect))
        if value is None:
            after = and_(key.is_(None), articles.c.id < article_id)
            before = or_(key.is_not(None), articles.c.id > article_id)
        else:
            after = or_(key < value, and_(key == value, articles.c.id < article_id), key.is_(None))
            before = or_(key > value, and_(key == value, articles.c.id > article_id))
        base = select(articles.c.id)
        following = _ordered(base.where(*where, after), hits).limit(1)
        preceding = _ordered(base.where(*where, before), hits, reverse=True).limit(1)
        return (connection.execute(preceding).scalar(), connection.execute(following).scalar())


def facets(engine: Engine) -> tuple[list[str], list[str], list[str]]:
    """The sources, languages and topics found in the store, for the filter menus."""
    with engine.connect() as connection:
        sources = connection.execute(select(articles.c.source).distinct()).scalars().all()
        languages = connection.execute(
            select(articles.c.language).where(articles.c.language.is_not(None)).distinct()
        ).scalars()
        topics = connection.execute(select(article_topics.c.topic).distinct()).scalars().all()
        return sorted(sources), sorted(languages), sorted(topics)


def article_record(engine: Engine, article_id: int) -> dict[str, Any] | None:
    """The export record of one article, with `extractor`, its near-duplicates:
    `copy_articles` (id, title, source, url of each) and `original` (the same for the one it
    copies), and `story_articles`: the other articles of its story (the same, with language
    and publication date), oldest first, up to STORY_SHOWN."""
    with engine.connect() as connection:
        row = (
            connection.execute(select(*_COLUMNS).where(articles.c.id == article_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        record = next(records_of(connection, [row]))
        related = select(articles.c.id, articles.c.title, articles.c.source, articles.c.url)
        record["extractor"] = row["extractor"]
        record["copy_articles"] = (
            connection.execute(
                related.where(articles.c.duplicate_of == article_id).order_by(articles.c.id)
            )
            .mappings()
            .all()
        )
        record["original"] = (
            connection.execute(related.where(articles.c.id == row["duplicate_of"]))
            .mappings()
            .first()
            if row["duplicate_of"]
            else None
        )
        record["story_articles"] = (
            _story_articles(connection, row["story_id"], article_id) if row["story_id"] else []
        )
    return record


def _story_articles(connection: Connection, story_id: int, article_id: int) -> list[Any]:
    """The other articles of a story, in the order they were fetched."""
    query = (
        select(
            articles.c.id,
            articles.c.title,
            articles.c.source,
            articles.c.url,
            articles.c.language,
            articles.c.published,
        )
        .where(articles.c.story_id == story_id, articles.c.id != article_id)
        .order_by(articles.c.fetched_at, articles.c.id)
        .limit(STORY_SHOWN)
    )
    return [
        {**row, "published": as_utc(row["published"]).isoformat() if row["published"] else None}
        for row in connection.execute(query).mappings()
    ]
