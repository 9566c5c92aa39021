"""Search feeds in the `feeds` spider: Google News and Bing News entries reach the publisher.

config → schedule → spiders (**feeds**) → `Article` item → pipelines. A news search feed's entry
links lead to the search engine; `SearchFeeds.follow` takes a parsed feed's entries and hands
the spider the publisher's article links instead, in this order:

1. offline: a Bing click link's `url` parameter, an old-style Google News id's URL
   (`crawler.sources.search_engines`);
2. the publisher's own site, named by the entry's `<source url>`: its news sitemaps (the
   `Sitemap:` lines of its robots.txt, news sitemaps first) and its feed (declared on its home
   page), searched by title. One look per publisher per pass, shared by every search source of
   the pass, through Scrapy (politeness, robots.txt, private-address checks);
3. with `google_news_decode` on, Google's decoding endpoint (two requests per entry);
4. otherwise a headline-only article: the entry's title, summary, publisher and Google link.

Each new entry is counted by the way it took, or why it stayed headline-only, in the source's
pass outcome (`sources status`). Entries whose search link or publisher URL already led to a
stored article are skipped before any of this: the search link is stored as an alias.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.config.files import Source
from crawler.errors import FeedError, SitemapError
from crawler.items import Article
from crawler.sources.candidates import feed_links, rank, rank_sitemaps, robots_url
from crawler.sources.feeds import parse_feed
from crawler.sources.links import ArticleLink
from crawler.sources.search_engines import (
    HEADLINE_ONLY,
    SearchLink,
    TitleIndex,
    batchexecute_body,
    batchexecute_url,
    decoding_params,
    headline,
    parse_batchexecute,
    parse_hosts,
    search_link,
)
from crawler.sources.sitemaps import (
    parse_sitemap,
    recent_sitemaps,
    sitemaps_from_robots,
)
from crawler.text.urls import canonicalize

if TYPE_CHECKING:
    from crawler.spiders.base import SourceSpider

__all__ = ["SearchFeeds"]

logger = logging.getLogger(__name__)

# Per publisher and pass: robots.txt, at most this many sitemap files (a news sitemap, or an
# index and its newest children), the home page and one feed.
LOOKUP_SITEMAPS = 3
SITEMAP_MAX_AGE = timedelta(days=2)  # what a Google News sitemap holds
NO_PUBLISHER = "no publisher named"
UNREACHABLE = "publisher's site unreachable"
NOT_FOUND = "no matching title on the publisher's site"

Output = Iterator[scrapy.Request | Article]


@dataclass
class _Waiting:
    source: Source
    entries: list[tuple[ArticleLink, SearchLink]]
    language: str | None


@dataclass
class _Lookup:
    """One publisher's site searched during the pass."""

    home: str
    index: TitleIndex = field(default_factory=TitleIndex)
    outstanding: int = 0  # requests not answered yet
    sitemaps_left: int = LOOKUP_SITEMAPS
    reached: bool = False  # at least one response was read
    done: bool = False
    waiting: list[_Waiting] = field(default_factory=list)


class SearchFeeds:
    def __init__(self, spider: SourceSpider) -> None:
        self.spider = spider
        settings = spider.config_settings
        self.google_hosts = parse_hosts(settings.google_news_hosts)
        self.decode = settings.google_news_decode
        self.lookups: dict[str, _Lookup] = {}

    def headline_link(self, url: str) -> bool:
        """A search link that no offline reading resolves: owed, it stands for a headline-only
        article (its page is the search engine's, never an article)."""
        found = search_link(url, self.google_hosts)
        return found.engine is not None and found.target is None

    def follow(self, source: Source, entries: list[ArticleLink], language: str | None) -> Output:
        """Requests (and headline-only articles) for a parsed feed's entries."""
        spider = self.spider
        progress = spider.progress[source.name]
        plain: list[ArticleLink] = []
        found: list[tuple[ArticleLink, SearchLink]] = []
        for entry in entries:
            kind = search_link(entry.link, self.google_hosts)
            if kind.engine is None:
                plain.append(entry)
            else:
                found.append((replace(entry, title=headline(entry.title, entry.publisher)), kind))
        found = self._new(found)
        direct = [
            replace(entry, link=kind.target, via=entry.link)
            for entry, kind in found
            if kind.target is not None
        ]
        for _, kind in found:
            if kind.target is not None:
                progress.resolution["bing" if kind.engine == "bing" else "decoded"] += 1
        yield from spider.follow_links(source, plain + direct, language)
        by_publisher: dict[str, list[tuple[ArticleLink, SearchLink]]] = {}
        orphans: list[tuple[ArticleLink, SearchLink]] = []
        for entry, kind in found:
            if kind.target is not None:
                continue
            home = _origin(entry.publisher_url)
            if home is None:
                orphans.append((entry, kind))
            else:
                by_publisher.setdefault(home, []).append((entry, kind))
        yield from self._unresolved(source, orphans, language, NO_PUBLISHER)
        for home, group in by_publisher.items():
            yield from self._look_up(source, home, group, language)

    def _new(
        self, found: list[tuple[ArticleLink, SearchLink]]
    ) -> list[tuple[ArticleLink, SearchLink]]:
        """The entries neither of whose URLs (search link, publisher's URL) is stored, being
        fetched in this pass, or done with (dropped on purpose, given up), and whose search
        link is not owed."""
        spider = self.spider
        keyed: list[tuple[ArticleLink, SearchLink, list[str]]] = []
        for entry, kind in found:
            try:
                keys = [canonicalize(entry.link)]
                if kind.target is not None:
                    keys.append(canonicalize(kind.target))
            except ValueError:
                spider.crawler.stats.inc_value("newsmon/link/bad")
                continue
            keyed.append((entry, kind, keys))
        every = sorted({key for _, _, keys in keyed for key in keys})
        if not every:
            return []
        known = spider.state.known_urls(every) | (set(every) & spider.scheduled)
        rows = spider.owed.lookup(every)
        fresh = []
        for entry, kind, keys in keyed:
            search, *target = keys
            # An owed search link is a headline-only article waiting for its next attempt
            # (`follow_owed` brings it back); an owed publisher URL is retried by follow_links.
            if (
                search in known
                or search in rows
                or any(key in known or (key in rows and rows[key].done) for key in target)
            ):
                spider.crawler.stats.inc_value("newsmon/article/known")
            else:
                fresh.append((entry, kind))
        return fresh

    # --- the publisher's own site ------------------------------------------------------

    def _look_up(
        self,
        source: Source,
        home: str,
        entries: list[tuple[ArticleLink, SearchLink]],
        language: str | None,
    ) -> Output:
        waiting = _Waiting(source, entries, language)
        lookup = self.lookups.get(home)
        if lookup is not None and lookup.done:  # looked at earlier in this pass
            yield from self._settle(lookup, waiting)
            return
        self.spider.progress[source.name].parts += 1  # the source's pass waits for the look
        if lookup is not None:
            lookup.waiting.append(waiting)
            return
        lookup = self.lookups[home] = _Lookup(home, waiting=[waiting])
        yield self._lookup_request(lookup, robots_url(home), self._robots)
        yield self._lookup_request(lookup, home, self._home_page)

    def _lookup_request(self, lookup: _Lookup, url: str, callback: Any) -> scrapy.Request:
        lookup.outstanding += 1
        return scrapy.Request(
            url,
            callback=callback,
            errback=self._lookup_failed,
            cb_kwargs={"lookup": lookup},
            meta={"newsmon_kind": "publisher"},
            dont_filter=True,  # every answer must reach its callback: the look counts them
        )

    def _robots(self, response: Response, lookup: _Lookup) -> Output:
        lookup.reached = True
        named = sitemaps_from_robots(response.body, response.url).urls
        for url in rank_sitemaps(named)[: lookup.sitemaps_left]:
            lookup.sitemaps_left -= 1
            yield self._lookup_request(lookup, url, self._sitemap)
        yield from self._answered(lookup)

    def _sitemap(self, response: Response, lookup: _Lookup) -> Output:
        lookup.reached = True
        try:
            sitemap = parse_sitemap(response.body, response.url, max_urls=5000)
        except SitemapError as exc:
            logger.info("Publisher %s: %s: %s", lookup.home, response.url, exc)
            sitemap = None
        if sitemap is not None and sitemap.kind == "index":
            children = recent_sitemaps(sitemap, SITEMAP_MAX_AGE, datetime.now(UTC))
            for url in rank_sitemaps(children)[: lookup.sitemaps_left]:
                lookup.sitemaps_left -= 1
                yield self._lookup_request(lookup, url, self._sitemap)
        elif sitemap is not None:
            for entry in sitemap.entries:
                lookup.index.add(entry.news_title, entry.loc, "sitemap")
        yield from self._answered(lookup)

    def _home_page(self, response: Response, lookup: _Lookup) -> Output:
        lookup.reached = True
        is_page = isinstance(response, TextResponse)
        feeds = rank(feed_links(response.text, response.url)) if is_page else []
        if feeds:
            yield self._lookup_request(lookup, feeds[0].url, self._feed)
        yield from self._answered(lookup)

    def _feed(self, response: Response, lookup: _Lookup) -> Output:
        lookup.reached = True
        try:
            feed = parse_feed(response.body, response.url, max_entries=500)
        except FeedError as exc:
            logger.info("Publisher %s: %s: %s", lookup.home, response.url, exc)
        else:
            for entry in feed.entries:
                lookup.index.add(entry.title, entry.link, "feed")
        yield from self._answered(lookup)

    def _lookup_failed(self, failure: Failure) -> Output:
        lookup: _Lookup = failure.request.cb_kwargs["lookup"]
        logger.info("Publisher %s: %s failed: %s", lookup.home, failure.request.url, failure.value)
        yield from self._answered(lookup)

    def _answered(self, lookup: _Lookup) -> Output:
        lookup.outstanding -= 1
        if lookup.outstanding > 0:
            return
        lookup.done = True
        # The sitemap's candidates must win over the feed's whatever answered first.
        lookup.index.prefer("sitemap")
        waiting, lookup.waiting = lookup.waiting, []
        for one in waiting:
            yield from self._settle(lookup, one)
            yield from self.spider.part_done(one.source)

    def _settle(self, lookup: _Lookup, waiting: _Waiting) -> Output:
        """Entries of one source against a publisher's titles: found, or on to the next way."""
        progress = self.spider.progress[waiting.source.name]
        matched: list[ArticleLink] = []
        unmatched: list[tuple[ArticleLink, SearchLink]] = []
        for entry, kind in waiting.entries:
            hit = lookup.index.find(entry.title)
            if hit is None:
                unmatched.append((entry, kind))
                continue
            url, how = hit
            progress.resolution[how] += 1
            matched.append(replace(entry, link=url, via=entry.link))
        yield from self.spider.follow_links(waiting.source, matched, waiting.language)
        reason = NOT_FOUND if lookup.reached else UNREACHABLE
        yield from self._unresolved(waiting.source, unmatched, waiting.language, reason)

    # --- Google's endpoint, then headline-only -------------------------------------------

    def _unresolved(
        self,
        source: Source,
        entries: list[tuple[ArticleLink, SearchLink]],
        language: str | None,
        reason: str,
    ) -> Output:
        progress = self.spider.progress[source.name]
        headlines: list[ArticleLink] = []
        for entry, kind in entries:
            if self.decode and kind.engine == "google" and kind.article_id:
                progress.parts += 1
                yield scrapy.Request(
                    entry.link,
                    callback=self._endpoint_page,
                    errback=self._endpoint_failed,
                    cb_kwargs={
                        "source": source,
                        "entry": entry,
                        "kind": kind,
                        "language": language,
                    },
                    meta={"newsmon_kind": "search"},
                    dont_filter=True,
                )
            else:
                progress.resolution[HEADLINE_ONLY + reason] += 1
                headlines.append(entry)
        yield from self.spider.follow_headlines(source, headlines, language)

    def _endpoint_page(
        self,
        response: Response,
        source: Source,
        entry: ArticleLink,
        kind: SearchLink,
        language: str | None,
    ) -> Output:
        params = decoding_params(response.text) if isinstance(response, TextResponse) else None
        if params is None or kind.article_id is None:
            yield from self._endpoint_done(source, entry, None, "no decoding parameters", language)
            return
        signature, timestamp = params
        yield scrapy.Request(
            batchexecute_url(entry.link),
            method="POST",
            body=batchexecute_body(kind.article_id, timestamp, signature),
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
            callback=self._endpoint_answer,
            errback=self._endpoint_failed,
            cb_kwargs={"source": source, "entry": entry, "kind": kind, "language": language},
            meta={"newsmon_kind": "search"},
            dont_filter=True,
        )

    def _endpoint_answer(
        self,
        response: Response,
        source: Source,
        entry: ArticleLink,
        kind: SearchLink,
        language: str | None,
    ) -> Output:
        is_text = isinstance(response, TextResponse)
        url = parse_batchexecute(response.text) if is_text else None
        yield from self._endpoint_done(source, entry, url, "no URL in its answer", language)

    def _endpoint_failed(self, failure: Failure) -> Output:
        kwargs = failure.request.cb_kwargs
        reason = f"{type(failure.value).__name__}"
        response = getattr(failure.value, "response", None)
        if response is not None:
            reason = f"HTTP {response.status}"
        yield from self._endpoint_done(
            kwargs["source"], kwargs["entry"], None, reason, kwargs["language"]
        )

    def _endpoint_done(
        self,
        source: Source,
        entry: ArticleLink,
        url: str | None,
        failure: str,
        language: str | None,
    ) -> Output:
        progress = self.spider.progress[source.name]
        if url is not None:
            progress.resolution["endpoint"] += 1
            yield from self.spider.follow_links(
                source, [replace(entry, link=url, via=entry.link)], language
            )
        else:
            progress.resolution[f"{HEADLINE_ONLY}Google's endpoint: {failure}"] += 1
            yield from self.spider.follow_headlines(source, [entry], language)
        yield from self.spider.part_done(source)


def _origin(url: str | None) -> str | None:
    """The publisher's home page: scheme and host of the entry's `<source url>`."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit((parts.scheme, parts.netloc.lower(), "/", "", ""))
