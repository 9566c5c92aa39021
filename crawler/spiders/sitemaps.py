"""The `sitemaps` spider: polls every enabled `kind: sitemap` source (a sitemap, a sitemap
index, gzipped or not, Google News sitemaps, a text sitemap, an RSS or Atom feed given as a
sitemap, or a robots.txt whose `Sitemap:` lines name them) and yields an `Article` item for
each recent entry not yet stored. A pass that found no entry because sitemaps could not be
read is a failed pass of the source.

Parsing, recency and the safe walk through nested indexes live in `crawler.sources.sitemaps`; this
spider only requests what they say. Google News titles and publication dates, which Scrapy's
own sitemap parser drops, travel with each link.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.config.files import Source
from crawler.config.settings import parse_duration
from crawler.sources.links import ArticleLink
from crawler.sources.sitemaps import (
    SitemapError,
    SitemapWalk,
    parse_sitemap,
    recent,
    recent_sitemaps,
    sitemaps_from_robots,
)
from crawler.spiders.base import SourceSpider, describe_failure

DEFAULT_MAX_AGE = "2d"


class SitemapsSpider(SourceSpider):
    name = "sitemaps"
    kind = "sitemap"

    def configure(self) -> None:
        super().configure()
        limits = self.config_settings
        self.walks = {s.name: SitemapWalk(max_sitemaps=limits.max_sitemaps) for s in self.sources}
        self.budget = {s.name: limits.max_sitemap_urls for s in self.sources}
        # Child sitemaps whose download or parsing failed, per source: what made a pass empty.
        self.unread: dict[str, list[str]] = {s.name: [] for s in self.sources}

    def parse_source(self, response: Response, source: Source) -> Iterator[scrapy.Request]:
        self.walks[source.name].start(source.url)
        yield from self.parse_sitemap(response, source, requested=source.url, top=True)

    def parse_sitemap(
        self, response: Response, source: Source, requested: str, top: bool = False
    ) -> Iterator[scrapy.Request]:
        walk = self.walks[source.name]
        max_age = timedelta(seconds=parse_duration(source.max_age or DEFAULT_MAX_AGE))
        now = datetime.now(UTC)
        if urlsplit(response.url).path.endswith("/robots.txt"):
            robots = sitemaps_from_robots(response.body, response.url)
            for line in robots.problems:
                self.problem(source, line)
            if not robots.urls and top:
                self.fail_source(source, "robots.txt names no sitemap")
            yield from self._children(source, walk.children(requested, robots.urls))
            return
        try:
            sitemap = parse_sitemap(
                response.body, response.url, max_urls=max(self.budget[source.name], 1)
            )
        except SitemapError as exc:
            if top:
                self.fail_source(source, str(exc))
            else:
                self.unreadable(source, f"{response.url}: {exc}")
            return
        if sitemap.problem:
            self.problem(source, f"{response.url}: {sitemap.problem}")
        if sitemap.cut_locs:
            self.crawler.stats.inc_value("newsmon/sitemap/loc_cut", sitemap.cut_locs)
        if sitemap.kind == "index":
            children = walk.children(requested, recent_sitemaps(sitemap, max_age, now))
            yield from self._children(source, children)
            return
        entries = recent(sitemap.entries, max_age, now)[: self.budget[source.name]]
        if len(entries) == self.budget[source.name] and sitemap.entries:
            self.crawler.stats.inc_value("newsmon/sitemap/capped")
        self.budget[source.name] -= len(entries)
        links = [
            ArticleLink(
                link=e.loc, title=e.news_title, published=e.date, summary=None, entry_id=None
            )
            for e in entries
        ]
        language = next((e.language for e in entries if e.language), None)
        yield from self.follow_links(source, links, language)

    def unreadable(self, source: Source, text: str) -> None:
        """A child sitemap could not be read (download failed, not a sitemap)."""
        self.unread[source.name].append(text)
        self.problem(source, text)

    def _part_failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        source: Source = failure.request.cb_kwargs["source"]
        self.unread[source.name].append(f"{failure.request.url}: {describe_failure(failure)}")
        yield from super()._part_failed(failure)

    def part_done(self, source: Source) -> Iterator[scrapy.Request]:
        # A pass that found nothing because sitemaps could not be read failed: "ok, 0
        # entries" would hide a broken source until someone wonders why it went quiet.
        progress = self.progress[source.name]
        unread = self.unread[source.name]
        last_part = progress.parts == 1 and source.name not in self.results
        if last_part and not progress.entries and unread:
            self.fail_source(
                source, f"0 entries: {len(unread)} sitemap(s) could not be read: {unread[0]}"
            )
        return super().part_done(source)

    def _children(self, source: Source, urls: list[str]) -> Iterator[scrapy.Request]:
        walk = self.walks[source.name]
        while walk.problems:  # loops, self-references and caps, said once each
            self.problem(source, walk.problems.pop(0))
        for url in urls:
            yield self.more_part(source, url, self.parse_sitemap, requested=url)
