"""The indexes of stored articles that the dedup, story and store pipelines of a crawler share
(`crawler.store.indexes.ArticleIndexes`): the runner's, passed in the `NEWSMON_INDEXES`
setting (`newsmon run` keeps one for its life, a `crawl` pass shares one between its
crawlers), else the crawler's own, made when its first pipeline asks.

No lock orders the articles: dedup, tag, story and store are plain methods that Scrapy calls
one after the other, awaiting each result, and a result that is not awaitable completes at
once; so each article goes from its near-duplicate lookup to its commit and the indexes'
update without yielding to the event loop, and the next article's lookup sees it
(tests/test_indexes.py fails if a stage awaits in between). Articles of other crawlers and
processes are read from the store before each lookup.
"""

from __future__ import annotations

from typing import Any, Self

from scrapy.crawler import Crawler
from sqlalchemy import Engine

from crawler.store.engines import crawl_store
from crawler.store.indexes import ArticleIndexes

SETTING = "NEWSMON_INDEXES"


def indexes_for(crawler: Crawler) -> ArticleIndexes:
    shared = crawler.settings.get(SETTING)
    if shared is not None:
        return shared
    own = getattr(crawler, "newsmon_indexes", None)
    if own is None:
        own = ArticleIndexes(crawl_store(crawler.settings))
        crawler.newsmon_indexes = own
    return own


class IndexedPipeline:
    """What the dedup and story pipelines are made of: the store, its indexes, the stats."""

    def __init__(self, engine: Engine, indexes: ArticleIndexes, stats: Any) -> None:
        self.engine = engine
        self.indexes = indexes
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawl_store(crawler.settings), indexes_for(crawler), crawler.stats)
