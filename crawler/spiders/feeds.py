"""The `feeds` spider: polls every enabled feed source (RSS, Atom, JSON Feed) once and yields
an `Article` item for each entry link not yet stored. Entries of news search feeds (Google
News, Bing News) are first led to the publisher's article (`crawler.spiders.search`).

Feeds are fetched with conditional GET and skipped when the body is unchanged (see
`SourceSpider`); parsing lives in `crawler.sources.feeds`.
"""

from __future__ import annotations

from collections.abc import Iterator

import scrapy
from scrapy.http import Response

from crawler.config.files import Source
from crawler.items import Article
from crawler.sources.feeds import FeedError, parse_feed
from crawler.spiders.base import SourceSpider, header
from crawler.spiders.search import SearchFeeds


class FeedsSpider(SourceSpider):
    name = "feeds"
    kind = "feed"

    def configure(self) -> None:
        super().configure()
        self.search = SearchFeeds(self)

    def headline_link(self, url: str) -> bool:
        return self.search.headline_link(url)

    def parse_source(
        self, response: Response, source: Source
    ) -> Iterator[scrapy.Request | Article]:
        headers = {k.decode("latin-1"): header(response, k) or "" for k in response.headers}
        limit = self.config_settings.max_entries_per_feed
        try:
            feed = parse_feed(response.body, response.url, headers, max_entries=limit)
        except FeedError as exc:
            self.fail_source(source, str(exc))
            return
        if feed.problem:
            self.problem(source, f"recovered feed defect: {feed.problem}")
        if feed.skipped:
            self.crawler.stats.inc_value("newsmon/feed/entry_without_link", feed.skipped)
        if feed.home_pages:
            self.crawler.stats.inc_value("newsmon/feed/home_page_link", feed.home_pages)
        if feed.truncated:
            self.logger.info(
                "Source %s: read only the first %d entries (max_entries_per_feed)",
                source.name,
                limit,
            )
        # Search feeds' entries lead to the search engine: SearchFeeds turns them into the
        # publisher's links (or headline-only articles) and hands the others on unchanged.
        yield from self.search.follow(source, feed.entries, feed.language)
