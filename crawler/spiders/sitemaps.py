"""The `sitemaps` spider: polls every enabled `kind: sitemap` source (a sitemap, a sitemap
index, gzipped or not, Google News sitemaps, or a robots.txt whose `Sitemap:` lines name them)
and yields an `Article` item for each recent entry not yet stored.

Parsing, recency and the safe walk through nested indexes live in `crawler.sitemaps`; this
spider only requests what they say. Google News titles and publication dates, which Scrapy's
own sitemap parser drops, travel with each link.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from crawler.config import Source, parse_duration
from crawler.feeds import FeedEntry
from crawler.sitemaps import (
    SitemapError,
    SitemapWalk,
    parse_sitemap,
    recent,
    recent_sitemaps,
    sitemaps_from_robots,
)
from crawler.spiders.articles import SourceSpider

DEFAULT_MAX_AGE = "2d"


class SitemapsSpider(SourceSpider):
    name = "sitemaps"
    kind = "sitemap"

    def configure(self) -> None:
        super().configure()
        limits = self.config_settings
        self.walks = {s.name: SitemapWalk(max_sitemaps=limits.max_sitemaps) for s in self.sources}
        self.budget = {s.name: limits.max_sitemap_urls for s in self.sources}

    def parse_source(self, response: Response, source: Source) -> Iterator[scrapy.Request]:
        self.walks[source.name].start(source.url)
        yield from self.parse_sitemap(response, source, requested=source.url, top=True)

    def parse_sitemap(self, response: Response, source: Source, requested: str,
                      top: bool = False) -> Iterator[scrapy.Request]:  # fmt: skip
        walk = self.walks[source.name]
        max_age = timedelta(seconds=parse_duration(source.max_age or DEFAULT_MAX_AGE))
        now = datetime.now(UTC)
        if urlsplit(response.url).path.endswith("/robots.txt"):
            children = sitemaps_from_robots(response.body, response.url)
            if not children and top:
                self.fail_source(source, "robots.txt names no sitemap")
            yield from self._children(source, walk.children(requested, children))
            return
        try:
            sitemap = parse_sitemap(response.body, response.url,
                                    max_urls=max(self.budget[source.name], 1))  # fmt: skip
        except SitemapError as exc:
            if top:
                self.fail_source(source, str(exc))
            else:
                self.problem(source, f"{response.url}: {exc}")
            return
        if sitemap.problem:
            self.problem(source, f"{response.url}: {sitemap.problem}")
        if sitemap.kind == "index":
            children = walk.children(requested, recent_sitemaps(sitemap, max_age, now))
            yield from self._children(source, children)
            return
        entries = recent(sitemap.entries, max_age, now)[: self.budget[source.name]]
        if len(entries) == self.budget[source.name] and sitemap.entries:
            self.crawler.stats.inc_value("newsmon/sitemap/capped")
        self.budget[source.name] -= len(entries)
        links = [FeedEntry(link=e.loc, title=e.news_title, published=e.date, summary=None,
                           entry_id=None) for e in entries]  # fmt: skip
        language = next((e.language for e in entries if e.language), None)
        yield from self.follow_links(source, links, language)

    def _children(self, source: Source, urls: list[str]) -> Iterator[scrapy.Request]:
        walk = self.walks[source.name]
        while walk.problems:  # loops, self-references and caps, said once each
            self.problem(source, walk.problems.pop(0))
        for url in urls:
            yield self.more_part(source, url, self.parse_sitemap, requested=url)
