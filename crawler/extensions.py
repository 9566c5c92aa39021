"""Scrapy extensions of newsmon: what lives as long as the crawl's process, not one crawl.

`ProcessResources` owns the extraction workers (`crawler.extract.pool`) and does the crawl
process's heap housekeeping (`crawler.heap`), as Scrapy's `extensions/memusage.py` does its
memory housekeeping. The extract pipeline gets the pool from it (`Crawler.get_extension`).

The pool outlives the crawler that started it: `newsmon crawl` runs one crawler per kind of
source and `newsmon run` one per source pass, all in one process, and forking and stopping
workers for each cost seconds (issue 15, section 3). Whoever runs the crawlers
(`crawler.schedule.one_pass`, `crawler.schedule.service`) hands each the same
`SharedResources` through the `NEWSMON_SHARED_RESOURCES` setting; the first crawler that
needs workers makes the pool, with its own `NEWSMON_EXTRACT_WORKERS` and log level, and the
pool is closed when the reactor shuts down, that is when the process is done with crawling.
A crawler run without one (a plain `scrapy crawl`) gets a pool of its own, closed the same
way.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.utils.reactor import is_reactor_installed

from crawler.extract.pool import ExtractionPool
from crawler.heap import Trimmer, keep_large_blocks_off_heap
from crawler.store.engines import Engines

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

__all__ = ["ProcessResources", "SharedResources"]

logger = logging.getLogger(__name__)


class SharedResources:
    """What the crawlers of one process share: the store's engines, the extraction pool, once
    a crawler has made it, and the count of pages between two heap trims (a pass of `newsmon
    run` may have fewer than `TRIM_EVERY`). Settings are deep-copied into each crawler;
    copies keep this one. The add-on gives a crawler run without one (a plain `scrapy crawl`)
    its own."""

    def __init__(self) -> None:
        self.engines = Engines()
        self.pool: ExtractionPool | None = None
        self.heap = Trimmer()

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self


class ProcessResources:
    def __init__(self, crawler: Crawler, shared: SharedResources, workers: int) -> None:
        self.shared = shared
        self.pool: ExtractionPool | None = None
        if workers > 0:
            if shared.pool is None:
                shared.pool = ExtractionPool(workers, crawler.settings.get("LOG_LEVEL"))
                _close_at_end(shared.pool, crawler)
            self.pool = shared.pool
            crawler.signals.connect(self.request_scheduled, signal=signals.request_scheduled)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.article_done, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        keep_large_blocks_off_heap()  # the CLI did at start-up; a plain `scrapy crawl` not
        workers = crawler.settings.get("NEWSMON_EXTRACT_WORKERS")
        workers = int(workers) if workers is not None else os.cpu_count() or 1
        return cls(crawler, crawler.settings["NEWSMON_SHARED_RESOURCES"], workers)

    def request_scheduled(self, request: Request) -> None:
        """The first article page asked for: the fork server's imports overlap its download."""
        if request.meta.get("newsmon_kind") == "article" and self.pool is not None:
            self.pool.warm_up()

    def article_done(self, *args: Any, **kwargs: Any) -> None:
        self.shared.heap.page_done()  # a large page leaves free heap behind (crawler.heap)


def _close_at_end(pool: ExtractionPool, crawler: Crawler) -> None:
    """Stop the pool's workers, if it started any, before the reactor stops: after the last
    crawl of `newsmon crawl`, when `newsmon run` exits. Without a reactor, when the crawler
    that made the pool stops."""
    if not is_reactor_installed():
        crawler.signals.connect(pool.close, signal=signals.engine_stopped)
        return
    from twisted.internet import reactor

    reactor.addSystemEventTrigger("before", "shutdown", pool.close)
