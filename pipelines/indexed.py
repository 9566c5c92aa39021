"""The shape of a pipeline that keeps an in-memory index of stored articles (near-duplicates,
stories): built from the store once per process, and told of every article stored afterwards
through Scrapy's `item_scraped` signal, so that later articles of the same process find it.
"""

from __future__ import annotations

from typing import Any

from scrapy import signals
from sqlalchemy import Engine

from crawler.items import Article
from crawler.store.database import engine_for


class IndexedPipeline:
    @staticmethod
    def load_index(database: str) -> Any:
        """The process's index for this database (cached by the subclass)."""
        raise NotImplementedError

    def __init__(self, engine: Engine, index: Any, stats: Any) -> None:
        self.engine = engine
        self.index = index
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        database = crawler.settings["NEWSMON_DATABASE"]
        pipeline = cls(engine_for(database), cls.load_index(database), crawler.stats)
        crawler.signals.connect(pipeline.item_scraped, signal=signals.item_scraped)
        return pipeline

    def item_scraped(self, item: Any) -> None:
        if isinstance(item, Article) and item.id is not None:
            self.stored(item)

    def stored(self, item: Article) -> None:
        """An article reached the store: add it to the index if it belongs there."""
        raise NotImplementedError
