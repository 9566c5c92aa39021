"""Extract pipeline: the first stage after the spider. Turns the downloaded page into clean
text and metadata (`pipelines.extraction` does the work) and lets the page's own canonical URL
win over the feed link.
"""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem

from crawler.items import Article
from crawler.urls import canonicalize
from pipelines.extraction import extract_article

logger = logging.getLogger(__name__)


class ExtractPipeline:
    def __init__(self, stats) -> None:  # type: ignore[no-untyped-def]
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        if crawler.settings.get("LOG_LEVEL") != "DEBUG":
            # trafilatura warns about every page that is not an article; the stats count them.
            for name in ("trafilatura", "htmldate", "courlan", "justext"):
                logging.getLogger(name).setLevel(logging.ERROR)
        return cls(crawler.stats)

    def process_item(self, item: Article) -> Article:
        extracted = extract_article(
            item.html, item.response_url or item.url, feed_published=item.feed_published
        )
        if extracted is None:
            self.stats.inc_value("newsmon/extract/no_text")
            logger.info("No article text in %s (source %s): not stored", item.url, item.source)
            raise DropItem(f"no article text: {item.url}", log_level="INFO")
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
