"""Source discovery: from a site's address to the feeds and sitemaps worth polling.

config → schedule → spiders → `Article` item → pipelines → store → review. Discovery happens
before all of that, when an analyst onboards a site (`newsmon sources add URL`): the command
fetches the page, reads its declared feeds with `feed_links`, probes `candidate_urls` (common
feed paths, then `COMMON_SITEMAP_PATHS` and the `Sitemap:` lines of `robots_url`), verifies each
candidate with the real parsers (`crawler.sources.feeds.parse_feed`,
`crawler.sources.sitemaps.parse_sitemap`)
and proposes the best by `rank` and `rank_sitemaps`. Pure: no Scrapy, no network, no files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from lxml import etree

from crawler.sources.listings import document_base, on_site, parse_html, site_hosts

__all__ = [
    "COMMON_FEED_PATHS",
    "COMMON_SITEMAP_PATHS",
    "FeedCandidate",
    "candidate_urls",
    "feed_links",
    "rank",
    "rank_sitemaps",
    "robots_url",
]

FeedKind = Literal["rss", "atom", "json", "unknown"]

# Where feeds live when a page does not declare them, most common first: WordPress (/feed/,
# /?feed=rss2), Hugo (/index.xml), Jekyll (/feed.xml), Blogger (/feeds/posts/default), Ghost
# (/rss/), Drupal (/rss.xml), and generic names.
COMMON_FEED_PATHS: tuple[str, ...] = (
    "/feed",
    "/feed/",
    "/rss",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feeds/posts/default",
    "/?feed=rss2",
    "/rss/all",
    "/feed.xml",
    "/rss/",
    "/atom",
    "/feed/atom/",
    "/rss2.xml",
    "/index.rss",
    "/feed.json",
)
# Where sitemaps live when robots.txt does not say, news sitemaps first (they list only the
# last two days, which is all a news monitor needs): Yoast and Rank Math (/sitemap_index.xml,
# /news-sitemap.xml), WordPress core (/wp-sitemap.xml), and generic names.
COMMON_SITEMAP_PATHS: tuple[str, ...] = (
    "/news-sitemap.xml",
    "/sitemap-news.xml",
    "/sitemap_news.xml",
    "/news_sitemap.xml",
    "/sitemap/news.xml",
    "/sitemaps/news.xml",
    "/sitemap.xml",
    "/sitemap_index.xml",
    "/sitemap-index.xml",
    "/wp-sitemap.xml",
    "/sitemap.xml.gz",
)
_MAX_CANDIDATES = 100  # a page with thousands of feed-looking links is not a guide


@dataclass(frozen=True)
class FeedCandidate:
    url: str  # absolute http(s), fragment dropped
    title: str | None  # the link's title attribute or the anchor's text, whitespace collapsed
    kind: FeedKind  # from the declared type, else guessed from the URL; "unknown" if neither


def feed_links(html: str, page_url: str) -> list[FeedCandidate]:
    """The feeds a page points at: its `<link rel="alternate">` (or `rel="feed"`) feeds first,
    in page order, then `<a href>` links on the same site whose address looks like a feed.

    One candidate per URL, at most 100. Comment feeds are included (`rank` drops them). The
    kinds are what the page claims; only fetching and parsing a candidate proves it.
    """
    root = parse_html(html)
    if root is None:
        return []
    base = document_base(root, page_url)
    found: dict[str, FeedCandidate] = {}
    for link in root.iter("link"):
        rels = _tokens(link.get("rel"))
        if "alternate" not in rels and "feed" not in rels:
            continue
        title = _clean(link.get("title"))
        kind = _declared_kind(link.get("type"), title, bare_feed="feed" in rels)
        url = _http_url(link.get("href"), base)
        if kind and url and url not in found:
            found[url] = FeedCandidate(url, title, kind)
            if len(found) >= _MAX_CANDIDATES:
                return list(found.values())
    hosts = site_hosts(page_url)
    for anchor in root.iter("a"):
        url = _http_url(anchor.get("href"), base)
        if url is None or url in found or not on_site(url, hosts):
            continue
        kind = _guessed_kind(url)
        if kind is None:
            continue
        title = _clean(_text(anchor)) or _clean(anchor.get("title"))
        found[url] = FeedCandidate(url, title, kind)
        if len(found) >= _MAX_CANDIDATES:
            break
    return list(found.values())


def rank(candidates: Iterable[FeedCandidate]) -> list[FeedCandidate]:
    """The candidates best first, comment feeds removed, one per URL.

    Comment feeds (a URL with "comments", or a title such as "Comments Feed", "Flux des
    commentaires", "Kommentar-Feed") never carry articles. Then: RSS and Atom first, equally
    (the site's own order decides between them), then unknown kinds (mostly RSS served under a
    generic type), then JSON Feed (rare, and read by a separate code path); within a kind, the
    shallower and shorter address first, so the site-wide feed (/feed/) beats a category's
    (/category/world/feed/); ties keep the page's order.
    """
    unique: dict[str, FeedCandidate] = {}
    for candidate in candidates:
        unique.setdefault(candidate.url, candidate)
    kept = [candidate for candidate in unique.values() if not _is_comments_feed(candidate)]
    return sorted(kept, key=_rank_key)  # sorted() is stable: ties keep the page's order


def rank_sitemaps(urls: Iterable[str]) -> list[str]:
    """Sitemap URLs best first, for a news monitor: news sitemaps (they list only recent
    articles), then indexes and other sitemaps, shorter addresses first; image and video
    sitemaps, which list no articles, are dropped. One per URL; ties keep the given order."""
    unique = list(dict.fromkeys(urls))
    kept = [url for url in unique if not _MEDIA_SITEMAP.search(_path(url))]

    def key(url: str) -> tuple[int, int]:
        return (0 if "news" in _path(url) else 1, len(url))

    return sorted(kept, key=key)


def candidate_urls(home_url: str, paths: Sequence[str] = COMMON_FEED_PATHS) -> list[str]:
    """The URLs to probe for a site, in `paths` order: under the home page's directory first
    when it is not the site root (a blog at /blog/ has /blog/feed/), then at the site root.

    `paths` defaults to the common feed paths; pass `COMMON_SITEMAP_PATHS` for sitemaps.
    Raises ValueError when `home_url` is not an absolute http(s) URL.
    """
    parts = urlsplit(home_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {home_url!r}")
    root = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    directory = parts.path[: parts.path.rfind("/") + 1] if "/" in parts.path else "/"
    bases = [root] if directory in ("", "/") else [urljoin(root, directory), root]
    urls: list[str] = []
    for base in bases:
        for path in paths:
            url = urljoin(base, path.lstrip("/"))
            if url not in urls:
                urls.append(url)
    return urls


def robots_url(url: str) -> str:
    """The robots.txt of the site of `url`. Raises ValueError for a non-http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


# --- details ---

_RSS_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/rdf+xml",
        "application/rss",
        "text/rss",
        "text/rss+xml",
        "application/x-rss+xml",
    }
)
_ATOM_TYPES = frozenset({"application/atom+xml", "application/x-atom+xml"})
_GENERIC_XML_TYPES = frozenset({"application/xml", "text/xml"})
_FEED_SEGMENTS = frozenset({"feed", "feeds", "rss", "rss2", "atom", "rdf"})
_FEED_FILE = re.compile(r"\.(?:rss|atom|rdf|xml)$")
_FEED_QUERY = re.compile(r"(?:^|&)(?:feed|format|type|output)=(?:rss2?|atom|rdf)\b")
_ATOM_WORD = re.compile(r"(?<![a-z])atom(?![a-z])")
_RSS_WORD = re.compile(r"(?<![a-z])(?:rss2?|rdf)(?![a-z])")
_JSON_WORD = re.compile(r"(?<![a-z])json(?![a-z])")
_NOT_FEED_FILE = re.compile(r"(?:^|/)(?:[^/]*sitemap[^/]*|opensearch[^/]*|oembed[^/]*)$")
_MEDIA_SITEMAP = re.compile(r"(?<![a-z])(?:image|images|video|videos)(?![a-z])")
_COMMENTS_TITLE = re.compile(
    r"\bcomments?\s+feed\b|\bcomments\b|\bcommentaires\b|\bkommentar|\bcomentarios\b"
    r"|\bcommenti\b|\breacties\b",
    re.IGNORECASE,
)
_KIND_ORDER = {"rss": 0, "atom": 0, "unknown": 1, "json": 2}


def _declared_kind(content_type: str | None, title: str | None, bare_feed: bool) -> FeedKind | None:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in _RSS_TYPES:
        return "rss"
    if media_type in _ATOM_TYPES:
        return "atom"
    if media_type == "application/feed+json":
        return "json"
    if media_type == "application/json":
        # WordPress declares its REST API as an alternate in application/json on every page:
        # only a title that says "feed" makes it one.
        return "json" if title and "feed" in title.lower() else None
    if media_type in _GENERIC_XML_TYPES or (not media_type and bare_feed):
        return "unknown"
    return None


def _guessed_kind(url: str) -> FeedKind | None:
    parts = urlsplit(url)
    path = unquote(parts.path).lower().rstrip("/")
    query = parts.query.lower()
    segments = [segment for segment in path.split("/") if segment]
    looks_like_feed = bool(_FEED_QUERY.search(query))
    if segments and not _NOT_FEED_FILE.search(path):
        looks_like_feed = looks_like_feed or (
            bool(_FEED_SEGMENTS.intersection(segments))
            or bool(_FEED_FILE.search(segments[-1]))
            or bool(_ATOM_WORD.search(path))
        )
    if not looks_like_feed:
        return None
    address = f"{path}?{query}"
    if _ATOM_WORD.search(address):
        return "atom"
    if _RSS_WORD.search(address):
        return "rss"
    if _JSON_WORD.search(address):
        return "json"
    return "unknown"


def _is_comments_feed(candidate: FeedCandidate) -> bool:
    parts = urlsplit(candidate.url)
    address = f"{parts.path}?{parts.query}".lower()
    if "comments" in address:  # /comments/feed/, /feed/comments, ?feed=comments-rss2
        return True
    return bool(candidate.title and _COMMENTS_TITLE.search(candidate.title))


def _rank_key(candidate: FeedCandidate) -> tuple[int, int, int]:
    parts = urlsplit(candidate.url)
    depth = sum(1 for segment in parts.path.split("/") if segment)
    return (_KIND_ORDER[candidate.kind], depth, len(parts.path) + len(parts.query))


def _http_url(href: str | None, base: str) -> str | None:
    if not href or not href.strip() or href.strip().startswith("#"):
        return None
    try:
        parts = urlsplit(urljoin(base, href.strip()))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
    except ValueError:  # an unclosed IPv6 bracket, say
        return None
    return urlunsplit(parts._replace(fragment=""))


def _path(url: str) -> str:
    try:
        return urlsplit(url).path.lower()
    except ValueError:
        return ""


def _tokens(value: str | None) -> frozenset[str]:
    return frozenset(value.lower().split()) if value else frozenset()


def _text(element: etree._Element) -> str:
    parts: list[str] = []
    size = 0
    for piece in element.itertext():  # bounded: an anchor may wrap half the page
        parts.append(piece)
        size += len(piece)
        if size > 300:
            break
    return "".join(parts)


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    text = " ".join(value.split())
    return text[:300] or None
