"""Extract pipeline: the first stage after the spider. Turns the downloaded page into clean
text and metadata (`crawler.extract.page` does the work) and lets the page's own canonical URL
win over the feed link.

A page without article text whose entry has a title becomes a headline-only article when it
is an article page (a paywall, a consent wall: the rule is `crawler.extract.headline`'s): the
entry's title, its summary as text, `text_source` "feed". So does an item that has no page at
all (`html` empty and `text_source` "feed": a search entry that did not resolve).

Extraction is most of a crawl's CPU, so it runs in worker processes
(`crawler.extract.pool`, `NEWSMON_EXTRACT_WORKERS`, one per core by default) and the
reactor goes on downloading, deduplicating and storing other pages meanwhile. The pool
belongs to the process, not to this pipeline: `crawler.extensions.ProcessResources` starts
and stops it. Past extraction an article needs no turn to wait for: the later stages run it
to its commit in one step (`pipelines.indexed`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import DropItem

from crawler.extensions import ProcessResources
from crawler.extract import pool as extraction_pool
from crawler.extract.headline import Headline
from crawler.extract.pool import QUIET_LOGGERS, ExtractionPool, WorkerLost
from crawler.extract.result import Byline
from crawler.items import Article, ArticleFailed
from crawler.text.urls import canonicalize

if TYPE_CHECKING:
    from crawler.extract.pool import Result

logger = logging.getLogger(__name__)

RETRIES_AFTER_WORKER_LOST = 1  # another try for each page a dead worker took with it


class ExtractPipeline:
    def __init__(self, stats, pool: ExtractionPool | None, entry_metadata: bool) -> None:
        self.stats = stats
        self.pool = pool  # None: extraction in this process (`NEWSMON_EXTRACT_WORKERS` 0)
        self.entry_metadata = entry_metadata  # the entry's title, author, date may stand in

    @classmethod
    def from_crawler(cls, crawler):
        resources = crawler.get_extension(ProcessResources)
        pool = resources.pool if resources is not None else None
        if pool is None and crawler.settings.get("LOG_LEVEL") != "DEBUG":
            for name in QUIET_LOGGERS:
                logging.getLogger(name).setLevel(logging.ERROR)
        return cls(crawler.stats, pool, crawler.settings.getbool("NEWSMON_ENTRY_METADATA"))

    async def process_item(self, item: Article) -> Article:
        page_url = item.response_url or item.url
        headline = entry_headline(item)
        # An item without a page: nothing to extract, the entry is all there is.
        html = None if item.text_source == "feed" and not item.html else item.html
        byline = Byline(item.feed_title, item.feed_author, stands_for_page=self.entry_metadata)
        if self.pool is None:
            result = extraction_pool.extract(html, page_url, item.feed_published, headline, byline)
        else:
            result = await self._extract_in_pool(item, html, page_url, headline, byline)
        if result is None:
            self.stats.inc_value("newsmon/extract/no_text")
            logger.info("No article text in %s (source %s): not stored", item.url, item.source)
            raise DropItem(f"no article text: {item.url}", log_level="INFO")
        extracted, (item.fingerprint, item.signature) = result
        if extracted.text:
            item.text_source = "page"
            item.title = extracted.title or item.feed_title
            item.text = extracted.text
        else:
            assert headline is not None  # no text without a headline comes back as None
            item.text_source = "feed"
            item.title = headline.title
            item.text = headline.summary or ""
            self.stats.inc_value("newsmon/extract/headline_only")
            logger.info(
                "No article text in %s (source %s): stored headline-only", item.url, item.source
            )
        item.author = extracted.author
        item.published = extracted.published
        item.language = extracted.language or item.language_hint
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

    async def _extract_in_pool(
        self,
        item: Article,
        html: str | None,
        page_url: str,
        headline: Headline | None,
        byline: Byline | None,
    ) -> Result:
        """A worker that dies takes every page queued in the pool with it: each gets one more
        try in the new workers. A page that kills them twice fails, its link owed."""
        assert self.pool is not None
        for attempt in range(1, RETRIES_AFTER_WORKER_LOST + 2):
            try:
                return await self.pool.extract(
                    html, page_url, item.feed_published, headline, byline
                )
            except WorkerLost as exc:
                self.stats.inc_value("newsmon/extract/worker_lost")
                if attempt > RETRIES_AFTER_WORKER_LOST:
                    logger.error(
                        "%s (source %s): not stored, owed to the next pass", exc, item.source
                    )
                    raise ArticleFailed("extraction worker died", log_level="WARNING") from None
                logger.warning("%s (source %s): extracting it again", exc, item.source)
        raise AssertionError("unreachable")


def entry_headline(item: Article) -> Headline | None:
    """What the item's entry offers should its page give no text: None without a title."""
    title = " ".join((item.feed_title or "").split())
    if not title:
        return None
    summary = " ".join((item.feed_summary or "").split())
    # A summary that only repeats the title is no text.
    return Headline(item.url, title, summary if summary.casefold() != title.casefold() else None)
