"""Onboarding a source: from a homepage or a feed URL to a validated source entry.

Used by `newsmon sources add` and `newsmon sources check`. Looks for feeds
(`<link rel=alternate>`, feed-looking links, common paths) and sitemaps (robots.txt, common
paths), fetches each candidate until one yields entries, and previews a few articles with the
topics they would get. Every URL tried is kept with its result, so "nothing found" says what
was tried. Parsing is the crawler's own (`crawler.sources.feeds`, `crawler.sources.sitemaps`,
`crawler.sources.listings`, `crawler.sources.candidates`); nothing here is stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import urlsplit

from crawler.sources.candidates import (
    COMMON_SITEMAP_PATHS,
    candidate_urls,
    feed_links,
    rank,
    rank_sitemaps,
    robots_url,
)
from crawler.sources.feeds import FeedError, parse_feed
from crawler.sources.fetch import Fetched, FetchError
from crawler.sources.links import ArticleLink
from crawler.sources.listings import article_links
from crawler.sources.sitemaps import SitemapError, parse_sitemap, recent, sitemaps_from_robots
from crawler.text.folding import fold

__all__ = ["Discovery", "Found", "discover", "source_name"]

MAX_CANDIDATES = 12  # candidate URLs probed per kind, so a hostile page cannot make us crawl
SITEMAP_AGE = timedelta(days=2)

Fetch = Callable[[str], Fetched]


@dataclass(frozen=True)
class Attempt:
    url: str
    result: str  # "feed, 25 entries", "HTTP 404", "not a feed: looks like an HTML page"...


@dataclass
class Found:
    kind: str  # feed, sitemap or listing
    url: str
    title: str | None
    language: str | None
    entries: list[ArticleLink]


@dataclass
class Discovery:
    found: Found | None = None
    tried: list[Attempt] = field(default_factory=list)
    page_title: str | None = None
    answered: bool = False  # the URL itself answered with a page (so a listing could read it)


def discover(url: str, fetch: Fetch, kind: str | None = None) -> Discovery:
    """The best source at `url`: the URL itself if it is a feed or sitemap, else one found
    from it. `kind` limits the search to one kind; `listing` takes the page itself."""
    discovery = Discovery()
    page = _get(url, fetch, discovery)
    if page is None:
        return discovery
    discovery.answered = True
    if kind in (None, "feed"):
        discovery.found = _as_feed(page, discovery)
    if discovery.found is None and kind in (None, "sitemap"):
        discovery.found = _as_sitemap(page, fetch, discovery)
    if discovery.found is not None or "html" not in page.content_type:
        return discovery
    html = page.text()
    discovery.page_title = _title(html)
    if kind == "listing":
        discovery.found = _as_listing(page, html, discovery)
        return discovery
    if kind in (None, "feed"):
        feeds = [c.url for c in rank(feed_links(html, page.url))] + candidate_urls(page.url)
        discovery.found = _first(feeds, fetch, discovery, _as_feed)
    if discovery.found is None and kind in (None, "sitemap"):
        discovery.found = _first(
            _sitemap_candidates(page.url, fetch, discovery),
            fetch,
            discovery,
            lambda p, d: _as_sitemap(p, fetch, d),
        )
    return discovery


def _get(url: str, fetch: Fetch, discovery: Discovery) -> Fetched | None:
    try:
        page = fetch(url)
    except FetchError as exc:
        discovery.tried.append(Attempt(url, str(exc).removeprefix(f"{url}: ")))
        return None
    if page.status >= 400:
        discovery.tried.append(Attempt(url, f"HTTP {page.status}"))
        return None
    return page


def _first(
    urls: list[str],
    fetch: Fetch,
    discovery: Discovery,
    judge: Callable[[Fetched, Discovery], Found | None],
) -> Found | None:
    seen = {attempt.url for attempt in discovery.tried}
    for url in [u for u in dict.fromkeys(urls) if u not in seen][:MAX_CANDIDATES]:
        page = _get(url, fetch, discovery)
        found = judge(page, discovery) if page is not None else None
        if found is not None:
            return found
    return None


def _as_feed(page: Fetched, discovery: Discovery) -> Found | None:
    try:
        feed = parse_feed(page.body, page.url, dict(page.headers.items()))
    except FeedError as exc:
        discovery.tried.append(Attempt(page.url, str(exc)))
        return None
    discovery.tried.append(Attempt(page.url, f"feed, {len(feed.entries)} entries"))
    if not feed.entries:
        return None
    return Found("feed", page.url, feed.title, feed.language, feed.entries)


def _as_sitemap(page: Fetched, fetch: Fetch, discovery: Discovery, depth: int = 0) -> Found | None:
    try:
        sitemap = parse_sitemap(page.body, page.url, max_urls=5000)
    except SitemapError as exc:
        discovery.tried.append(Attempt(page.url, str(exc)))
        return None
    now = datetime.now(UTC)
    if sitemap.kind == "index":
        discovery.tried.append(
            Attempt(page.url, f"sitemap index, {len(sitemap.sitemaps)} sitemaps")
        )
        if depth >= 2:
            return None
        for child in rank_sitemaps(sitemap.sitemaps)[:3]:
            child_page = _get(child, fetch, discovery)
            found = child_page and _as_sitemap(child_page, fetch, discovery, depth + 1)
            if found:
                return Found("sitemap", page.url, None, found.language, found.entries)
        return None
    entries = recent(sitemap.entries, SITEMAP_AGE, now)
    discovery.tried.append(
        Attempt(page.url, f"sitemap, {len(sitemap.entries)} entries, {len(entries)} recent")
    )
    if not sitemap.entries:
        return None
    links = [
        ArticleLink(e.loc, e.news_title, e.date, None, None)
        for e in entries or sitemap.entries[:20]
    ]
    language = next((e.language for e in entries if e.language), None)
    return Found("sitemap", page.url, None, language, links)


def _sitemap_candidates(url: str, fetch: Fetch, discovery: Discovery) -> list[str]:
    robots = robots_url(url)
    page = _get(robots, fetch, discovery)
    named = sitemaps_from_robots(page.body, page.url).urls if page is not None else []
    if page is not None:
        discovery.tried.append(Attempt(robots, f"robots.txt, {len(named)} Sitemap lines"))
    return rank_sitemaps(named) + candidate_urls(url, COMMON_SITEMAP_PATHS)


def _as_listing(page: Fetched, html: str, discovery: Discovery) -> Found | None:
    found = article_links(html, page.url)
    links = found.links
    discovery.tried.append(Attempt(page.url, f"listing, {len(links)} article links"))
    if not links:
        return None
    entries = [ArticleLink(link, found.titles.get(link), None, None, None) for link in links]
    return Found("listing", page.url, discovery.page_title, None, entries)


def _title(html: str) -> str | None:
    found = re.search(r"<title[^>]*>(.*?)</title>", html[:200_000], re.IGNORECASE | re.DOTALL)
    if not found:
        return None
    return " ".join(unescape(found.group(1)).split())[:200] or None


def source_name(url: str, taken: set[str], title: str | None = None) -> str:
    """A unique name from the title when it gives one in Latin letters ("Le Monde – Pixels"
    → le-monde-pixels), else from the host: https://www.defense-one.com/rss → defense-one-com."""
    host = (urlsplit(url).hostname or "source").removeprefix("www.")
    from_title = re.sub(r"[^a-z0-9]+", "-", fold(title or "")).strip("-")[:40].strip("-")
    base = from_title or re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "source"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    return name
