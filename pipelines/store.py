"""Store pipeline: the last stage and the only writer of articles. One transaction per
article: the article, every URL that led to it, its topics and the end of its link's debt
(`crawler.store.owed`) land together or not at all, and unique URLs make a re-run store nothing
twice. The original of a group of copies is its earliest-published article: a copy published
before its group's original becomes the original in its own transaction, the old original
and its copies re-pointed to it (`insert_article`). A changed page keeps its earlier text as a
version, and so does a headline-only article upgraded with its page's text (`text_source`
"page" from then on); a re-checked page that did not change is only stamped. A store that
fails (disk full, server gone) raises `ArticleFailed`: the link stays owed to the next pass.
Right after the commit, a new article is handed to the indexes of stored articles
(`crawler.store.indexes`), before any other article is looked up in them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from isal import igzip
from scrapy.exceptions import DropItem
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from crawler.items import Article, ArticleFailed
from crawler.store.crawl_state import as_utc
from crawler.store.database import safe_url, storage_reason
from crawler.store.engines import crawl_store
from crawler.store.indexes import ArticleIndexes
from crawler.store.owed import settle
from crawler.store.schema import article_topics, article_urls, article_versions, articles
from pipelines.dedup import find_stored
from pipelines.indexed import indexes_for

logger = logging.getLogger(__name__)


def compressed(page: bytes) -> bytes:
    """The kept page, gzipped by ISA-L at its level 1: a standard gzip stream (`gzip.decompress`
    reads it) of 22.6% of the size in 0.32 ms a corpus page, where zlib's level 1 took 1.43 ms
    for 23.0% (`python bench/page_costs.py`). With zlib, compressing was 18% of the crawl
    process's CPU (py-spy over `bench/throughput.py`'s crawl)."""
    return igzip.compress(page, compresslevel=1)


# Built once: SQLAlchemy builds and hashes a statement made with its values for every call,
# which cost as much as running it (a new article runs these in one transaction).
_INSERT_ARTICLE = insert(articles)
_NAME_STORY = (
    update(articles).where(articles.c.id == bindparam("b_id")).values(story_id=bindparam("b_id"))
)
_KNOWN_URLS = select(article_urls.c.url).where(
    article_urls.c.url.in_(bindparam("urls", expanding=True))
)
_INSERT_URLS = insert(article_urls)
# Locked (PostgreSQL): two writers adding to one group take turns, so the second sees the
# group as the first left it, and a re-pointing sees every copy committed before it.
_ORIGINAL = (
    select(articles.c.id, articles.c.published, articles.c.duplicate_of)
    .where(articles.c.id == bindparam("b_id"))
    .with_for_update()
)
_REPOINT = (
    update(articles)
    .where((articles.c.id == bindparam("old")) | (articles.c.duplicate_of == bindparam("old")))
    .values(duplicate_of=bindparam("new"))
)
_INSERT_TOPICS = insert(article_topics)


def add_urls(connection: Connection, article_id: int, urls: list[str]) -> int:
    """Record URLs that lead to `article_id`; returns how many were new."""
    known = set(connection.execute(_KNOWN_URLS, {"urls": urls}).scalars())
    new = [url for url in dict.fromkeys(urls) if url not in known]
    if new:
        connection.execute(_INSERT_URLS, [{"url": u, "article_id": article_id} for u in new])
    return len(new)


def group_original(connection: Connection, article_id: int) -> tuple[int, datetime | None]:
    """(id, published) of the original of the group `article_id` belongs to, as stored now:
    another writer may have re-pointed the group since the dedup stage looked."""
    for _ in range(8):  # a group is one level deep; the bound only guards against a cycle
        row = connection.execute(_ORIGINAL, {"b_id": article_id}).one()
        if row.duplicate_of is None:
            break
        article_id = row.duplicate_of
    return row.id, as_utc(row.published)


def earlier(published: datetime | None, than: datetime | None) -> bool:
    """Whether an article published at `published` was published first. Without both dates,
    or on a tie, it was not: the first fetched stays the original."""
    return published is not None and than is not None and published < than


def indexed_signature(item: Article) -> bytes | None:
    """The signature the store keeps to rebuild the near-duplicate index: none for a
    headline-only article, which stays out of it (`pipelines.dedup`)."""
    return (item.signature or None) if item.text_source == "page" else None


def insert_article(connection: Connection, item: Article, keep_html: bool) -> int:
    replaced = None
    if item.duplicate_of is not None:
        original, published = group_original(connection, item.duplicate_of)
        if earlier(as_utc(item.published), published):
            replaced, item.duplicate_of = original, None
        else:
            item.duplicate_of = original
    article_id = connection.execute(
        _INSERT_ARTICLE,
        {
            "url": item.url,
            "fingerprint": item.fingerprint,
            "source": item.source,
            "title": item.title,
            "author": item.author,
            "published": item.published,
            "fetched_at": item.fetched_at,
            "language": item.language,
            "text": item.text,
            "html": compressed(item.html_bytes) if keep_html and item.html_bytes else None,
            "extractor": item.extractor,
            "signature": indexed_signature(item),
            "text_source": item.text_source,
            "publisher": item.publisher,
            "duplicate_of": item.duplicate_of,
            "story_id": item.story_id,
            "checked_at": item.fetched_at,
        },
    ).inserted_primary_key[0]
    if item.story_id is None:  # the first article of its story names it
        item.story_id = article_id
        connection.execute(_NAME_STORY, {"b_id": article_id})
    if replaced is not None:  # the old original and its copies now copy this one
        connection.execute(_REPOINT, {"old": replaced, "new": article_id})
    item.replaced = replaced
    add_urls(connection, article_id, [item.url, *item.seen_urls])
    write_topics(connection, article_id, item.matches, new=True)
    settle(connection, [item.link, item.url, *item.seen_urls])
    return article_id


def write_topics(
    connection: Connection, article_id: int, matches: dict[str, list[str]], new: bool = False
) -> None:
    """The article's topics; a `new` article has none to replace."""
    if not new:
        connection.execute(delete(article_topics).where(article_topics.c.article_id == article_id))
    if matches:
        connection.execute(
            _INSERT_TOPICS,
            [
                {"article_id": article_id, "topic": t, "terms": terms}
                for t, terms in matches.items()
            ],
        )


def update_article(connection: Connection, item: Article, keep_html: bool) -> None:
    """A changed page: the stored text becomes a version, the new one takes its place."""
    old = connection.execute(
        select(
            articles.c.title, articles.c.text, articles.c.fetched_at, articles.c.updated_at
        ).where(articles.c.id == item.id)
    ).one()
    connection.execute(
        insert(article_versions).values(
            article_id=item.id,
            title=old.title,
            text=old.text,
            fetched_at=old.updated_at or old.fetched_at,
            replaced_at=item.fetched_at,
            change=item.change,
        )
    )
    values = {
        "title": item.title,
        "author": item.author,
        "text": item.text,
        "fingerprint": item.fingerprint,
        "signature": indexed_signature(item),
        "updated_at": item.fetched_at,
        "checked_at": item.fetched_at,
        "extractor": item.extractor,
        "text_source": item.text_source,
    }
    if item.upgraded:  # the page's own language beats the one guessed from a headline
        values["language"] = item.language
    if keep_html and item.html_bytes:
        values["html"] = compressed(item.html_bytes)
    connection.execute(update(articles).where(articles.c.id == item.id).values(**values))
    write_topics(connection, item.id, item.matches)
    if item.upgraded:  # the page may have been reached by another URL of it
        add_urls(connection, item.id, [item.url, *item.seen_urls])
    settle(connection, [item.link, item.url, *item.seen_urls])


class StorePipeline:
    def __init__(
        self, engine: Engine, keep_html: bool, stats, indexes: ArticleIndexes | None = None
    ) -> None:
        self.engine = engine
        self.keep_html = keep_html
        self.stats = stats
        self.indexes = indexes  # told of each new original (none: nothing looks them up)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(
            crawl_store(settings),
            settings.getbool("NEWSMON_KEEP_HTML"),
            crawler.stats,
            indexes_for(crawler),
        )

    def process_item(self, item: Article) -> Article:
        try:
            stored = self._store(item)
        except SQLAlchemyError as exc:
            reason = storage_reason(exc)
            self.stats.inc_value("newsmon/store/error")
            logger.error(
                "Storing %s failed in %s: %s", item.url, safe_url(str(self.engine.url)), reason
            )
            raise ArticleFailed(reason, log_level="WARNING") from exc
        if not item.changed:  # a new article: the topics it brings are the pass's hits
            for topic in item.matches:
                self.stats.inc_value(f"newsmon/hits/{topic}")
        return stored

    def _store(self, item: Article) -> Article:
        if item.changed:
            try:
                with self.engine.begin() as connection:
                    update_article(connection, item, self.keep_html)
            except IntegrityError:  # the new text is another stored article's
                self.stats.inc_value("newsmon/store/update_conflict")
                raise DropItem(f"updated text of {item.url} is stored already") from None
            self.stats.inc_value("newsmon/store/updated")
            logger.info("Article %s changed (%s): new version stored", item.id, item.change)
            return item
        if item.id is None:
            try:
                with self.engine.begin() as connection:
                    item.id = insert_article(connection, item, self.keep_html)
                self._indexed(item)
                self.stats.inc_value("newsmon/store/new")
                if item.text_source == "feed":
                    self.stats.inc_value("newsmon/store/new_headline_only")
                return item
            except IntegrityError:
                # Another writer stored the same URL meanwhile: attach to theirs.
                item.id, _ = find_stored(
                    self.engine, [item.url, *item.seen_urls], item.fingerprint, item.source
                )
                if item.id is None:
                    raise
        with self.engine.begin() as connection:
            added = add_urls(connection, item.id, [item.url, *item.seen_urls])
            settle(connection, [item.link])
            if item.recheck:
                connection.execute(
                    update(articles)
                    .where(articles.c.id == item.id)
                    .values(checked_at=item.fetched_at)
                )
        self.stats.inc_value("newsmon/store/same_article")
        raise DropItem(
            f"already stored as article {item.id}, {added} new URL(s)", log_level="DEBUG"
        )

    def _indexed(self, item: Article) -> None:
        """Right after the commit, before the next article's lookup: a new original joins the
        indexes, and the original it replaced (published later) leaves them; a copy is only
        noted as seen, so that the next refresh does not read it back."""
        if self.indexes is not None and item.id is not None:
            self.indexes.stored(
                item.id,
                signature=indexed_signature(item),  # none for a headline-only article
                title=item.title,
                text=item.text,
                story_id=item.story_id,
                fetched_at=item.fetched_at,
                terms=item.story_terms,
                replaced=item.replaced,
                # A re-check is indexed already, unless it brought a headline-only one's text.
                original=item.duplicate_of is None and (not item.recheck or item.upgraded),
            )
