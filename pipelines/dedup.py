"""Dedup pipeline: after extraction, before tagging. An article already in the store, by any
URL that led to it or by the same text under another URL, is marked with its stored id so
tagging is skipped and the store only records the new URLs.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from sqlalchemy import Engine, or_, select

from crawler.database import engine_for
from crawler.items import Article
from crawler.schema import article_urls, articles

WORDS = re.compile(r"\w+")


def fingerprint(text: str) -> str:
    """Hash of the text's words, blind to case, accents, spacing and punctuation."""
    folded = unicodedata.normalize("NFKD", text).casefold()
    words = WORDS.findall("".join(ch for ch in folded if not unicodedata.combining(ch)))
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()


def find_stored(engine: Engine, urls: list[str], text_fingerprint: str) -> int | None:
    """Id of the stored article reached by one of `urls` or with the same fingerprint."""
    with engine.connect() as connection:
        by_url = connection.execute(
            select(article_urls.c.article_id).where(article_urls.c.url.in_(urls)).limit(1)
        ).scalar()
        if by_url is not None:
            return by_url
        return connection.execute(
            select(articles.c.id).where(
                or_(articles.c.fingerprint == text_fingerprint, articles.c.url.in_(urls))
            )
        ).scalar()


class DedupPipeline:
    def __init__(self, engine: Engine, stats) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        return cls(engine_for(crawler.settings["NEWSMON_DATABASE"]), crawler.stats)

    def process_item(self, item: Article) -> Article:
        item.fingerprint = fingerprint(item.text)
        item.id = find_stored(self.engine, [item.url, *item.seen_urls], item.fingerprint)
        if item.id is not None:
            self.stats.inc_value("newsmon/dedup/same_article")
        return item
