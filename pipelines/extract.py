"""Extract pipeline: the first stage after the spider. Turns the downloaded page into clean
text and metadata (`crawler.extract.page` does the work) and lets the page's own canonical URL
win over the feed link.

Extraction is most of a crawl's CPU, so it runs in worker processes
(`crawler.extract.pool`, `NEWSMON_EXTRACT_WORKERS`, one per core by default) and the
reactor goes on downloading, deduplicating and storing other pages meanwhile. The pool
belongs to the process, not to this pipeline: `crawler.extensions.ProcessResources` starts
and stops it.

Past extraction, articles go on one at a time until Scrapy has signalled the outcome of the
previous one: a stored article joins the near-duplicate and story indexes on that signal
(`pipelines.indexed`), one turn of the event loop after the store, and an article whose
extraction ended in between would be compared with indexes that miss it. The turn is
process-wide, as the indexes are shared by the process's crawlers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DropItem

from crawler.extensions import ProcessResources
from crawler.extract import pool as extraction_pool
from crawler.extract.pool import QUIET_LOGGERS, ExtractionPool, WorkerLost
from crawler.items import Article, ArticleFailed
from crawler.text.urls import canonicalize

if TYPE_CHECKING:
    from crawler.extract.pool import Result

logger = logging.getLogger(__name__)

RETRIES_AFTER_WORKER_LOST = 1  # another try for each page a dead worker took with it

_turn: asyncio.Lock | None = None
_turn_holder: tuple[ExtractPipeline, Article] | None = None  # the article whose outcome is due


class ExtractPipeline:
    def __init__(self, stats, pool: ExtractionPool | None) -> None:
        self.stats = stats
        self.pool = pool  # None: extraction in this process (`NEWSMON_EXTRACT_WORKERS` 0)

    @classmethod
    def from_crawler(cls, crawler):
        resources = crawler.get_extension(ProcessResources)
        pool = resources.pool if resources is not None else None
        if pool is None and crawler.settings.get("LOG_LEVEL") != "DEBUG":
            for name in QUIET_LOGGERS:
                logging.getLogger(name).setLevel(logging.ERROR)
        pipeline = cls(crawler.stats, pool)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(pipeline.item_done, signal=signal)
        return pipeline

    def close_spider(self) -> None:
        if _turn_holder is not None and _turn_holder[0] is self:  # its signal never came
            _release_turn()

    async def process_item(self, item: Article) -> Article:
        page_url = item.response_url or item.url
        if self.pool is None:
            result = extraction_pool.extract(item.html, page_url, item.feed_published)
        else:
            result = await self._extract_in_pool(item, page_url)
        if result is None:
            self.stats.inc_value("newsmon/extract/no_text")
            logger.info("No article text in %s (source %s): not stored", item.url, item.source)
            raise DropItem(f"no article text: {item.url}", log_level="INFO")
        extracted, (item.fingerprint, item.signature) = result
        await _take_turn(self, item)
        item.title = extracted.title or item.feed_title
        item.author = extracted.author
        item.published = extracted.published
        item.language = extracted.language or item.language_hint
        item.text = extracted.text
        item.extractor = extracted.extractor
        # The page's own canonical URL wins; the links that led here are kept as aliases.
        for alias in (item.url, item.response_url):
            if alias and alias not in item.seen_urls:
                item.seen_urls.append(canonicalize(alias))
        if extracted.canonical_url:
            item.url = canonicalize(extracted.canonical_url)
        item.canonical_url = item.url
        item.seen_urls = [url for url in dict.fromkeys(item.seen_urls) if url != item.url]
        item.html = ""  # the text is out; the raw bytes stay for `keep_html`
        return item

    async def _extract_in_pool(self, item: Article, page_url: str) -> Result:
        """A worker that dies takes every page queued in the pool with it: each gets one more
        try in the new workers. A page that kills them twice fails, its link owed."""
        assert self.pool is not None
        for attempt in range(1, RETRIES_AFTER_WORKER_LOST + 2):
            try:
                return await self.pool.extract(item.html, page_url, item.feed_published)
            except WorkerLost as exc:
                self.stats.inc_value("newsmon/extract/worker_lost")
                if attempt > RETRIES_AFTER_WORKER_LOST:
                    logger.error(
                        "%s (source %s): not stored, owed to the next pass", exc, item.source
                    )
                    raise ArticleFailed("extraction worker died", log_level="WARNING") from None
                logger.warning("%s (source %s): extracting it again", exc, item.source)
        raise AssertionError("unreachable")

    def item_done(self, item: Any) -> None:
        """Scrapy signalled an article's outcome: the next one may go on."""
        if _turn_holder is not None and _turn_holder[1] is item:
            _release_turn()


async def _take_turn(pipeline: ExtractPipeline, item: Article) -> None:
    global _turn, _turn_holder
    if _turn is None:
        _turn = asyncio.Lock()
    await _turn.acquire()
    _turn_holder = pipeline, item


def _release_turn() -> None:
    global _turn_holder
    _turn_holder = None
    if _turn is not None:
        _turn.release()
