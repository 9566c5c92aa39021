"""Store pipeline: the last stage and the only writer of articles. One transaction per
article: the article, every URL that led to it and its topics land together or not at all, and
unique keys on URL and text fingerprint make a re-run store nothing twice.
"""

from __future__ import annotations

import gzip
import logging

from scrapy.exceptions import DropItem
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from crawler.database import engine_for, safe_url
from crawler.items import Article
from crawler.schema import article_topics, article_urls, articles
from pipelines.dedup import find_stored

logger = logging.getLogger(__name__)


def add_urls(connection: Connection, article_id: int, urls: list[str]) -> int:
    """Record URLs that lead to `article_id`; returns how many were new."""
    known = set(
        connection.execute(select(article_urls.c.url).where(article_urls.c.url.in_(urls)))
        .scalars()
    )  # fmt: skip
    new = [url for url in dict.fromkeys(urls) if url not in known]
    if new:
        connection.execute(
            insert(article_urls), [{"url": u, "article_id": article_id} for u in new]
        )
    return len(new)


def insert_article(connection: Connection, item: Article, keep_html: bool) -> int:
    article_id = connection.execute(
        insert(articles).values(
            url=item.url,
            fingerprint=item.fingerprint,
            source=item.source,
            title=item.title,
            author=item.author,
            published=item.published,
            fetched_at=item.fetched_at,
            language=item.language,
            text=item.text,
            html=gzip.compress(item.html_bytes) if keep_html and item.html_bytes else None,
            extractor=item.extractor,
        )
    ).inserted_primary_key[0]
    add_urls(connection, article_id, [item.url, *item.seen_urls])
    if item.matches:
        connection.execute(
            insert(article_topics),
            [{"article_id": article_id, "topic": t, "terms": terms}
             for t, terms in item.matches.items()],
        )  # fmt: skip
    return article_id


class StorePipeline:
    def __init__(self, engine: Engine, keep_html: bool, stats) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.keep_html = keep_html
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        settings = crawler.settings
        return cls(
            engine_for(settings["NEWSMON_DATABASE"]),
            settings.getbool("NEWSMON_KEEP_HTML"),
            crawler.stats,
        )

    def process_item(self, item: Article) -> Article:
        try:
            return self._store(item)
        except SQLAlchemyError as exc:
            self.stats.inc_value("newsmon/store/error")
            logger.error("Storing %s failed in %s: %s", item.url, safe_url(str(self.engine.url)),
                         exc)  # fmt: skip
            raise DropItem(f"storage failed: {item.url}") from exc

    def _store(self, item: Article) -> Article:
        if item.id is None:
            try:
                with self.engine.begin() as connection:
                    item.id = insert_article(connection, item, self.keep_html)
                self.stats.inc_value("newsmon/store/new")
                return item
            except IntegrityError:
                # Another writer stored the same URL or text meanwhile: attach to theirs.
                item.id = find_stored(self.engine, [item.url, *item.seen_urls], item.fingerprint)
                if item.id is None:
                    raise
        with self.engine.begin() as connection:
            added = add_urls(connection, item.id, [item.url, *item.seen_urls])
        self.stats.inc_value("newsmon/store/same_article")
        raise DropItem(
            f"already stored as article {item.id}, {added} new URL(s)", log_level="DEBUG"
        )
