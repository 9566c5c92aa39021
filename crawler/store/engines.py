"""The engines of one process's crawls: one writer and one limits engine per store URL.

An engine is a pool of connections. Whoever runs crawlers (`newsmon crawl`, `newsmon run`, a
distributed worker) owns one `Engines` (in `crawler.extensions.SharedResources`, which every
crawler of the process gets through the `NEWSMON_SHARED_RESOURCES` setting); the spiders,
pipelines and middlewares of every crawler take their engines from it, so the passes of a
long-lived process share connections instead of opening some for each pass, and nothing
lives in module globals: a test, or a second runner in one process, gets its own.
"""

from __future__ import annotations

from typing import Any, Self

from sqlalchemy import Engine

from crawler.store.database import engine_for
from crawler.store.host_limits import limits_engine

__all__ = ["Engines", "crawl_engines", "crawl_store"]


class Engines:
    def __init__(self) -> None:
        self._writers: dict[str, Engine] = {}
        self._limits: dict[str, Engine] = {}

    def writer(self, url: str) -> Engine:
        """The engine of the store at `url`, created if missing and migrated (`engine_for`)
        the first time. Raises StoreNotReady, StorageError (and asks again next time)."""
        if url not in self._writers:
            self._writers[url] = engine_for(url)
        return self._writers[url]

    def limits(self, url: str) -> Engine:
        """The autocommit engine of the shared host limits on `url` (`limits_engine`)."""
        if url not in self._limits:
            self._limits[url] = limits_engine(url)
        return self._limits[url]

    def close(self) -> None:
        """Close the engines' pooled connections: the process is done with the store."""
        for engine in (*self._writers.values(), *self._limits.values()):
            engine.dispose()
        self._writers.clear()
        self._limits.clear()

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self  # settings are deep-copied into each crawler; copies share the engines


def crawl_engines(settings: Any) -> Engines:
    """The engines of a crawler's process, from its Scrapy settings (the runner's or the
    add-on's `SharedResources`)."""
    shared = settings["NEWSMON_SHARED_RESOURCES"]
    if shared is None:
        raise RuntimeError(
            "a newsmon crawler needs NEWSMON_SHARED_RESOURCES: its runner's, or the one "
            "crawler.addon.NewsmonAddon sets (enabled in crawler/settings.py)"
        )
    return shared.engines


def crawl_store(settings: Any) -> Engine:
    """The engine of a crawler's store (`NEWSMON_DATABASE`), shared by the process's crawls."""
    return crawl_engines(settings).writer(settings["NEWSMON_DATABASE"])
