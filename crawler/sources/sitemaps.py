"""Sitemap parsing: the body of a downloaded sitemap becomes entries with absolute links and dates.

config → schedule → spiders (**sitemaps**) → `Article` item → pipelines → store → review. The
sitemaps spider finds a source's sitemaps (its `url`, or the `Sitemap:` lines of robots.txt
through `sitemaps_from_robots`), hands each downloaded body to `parse_sitemap`, follows the
children of a sitemap index through a `SitemapWalk` (which ends self-references and loops), and
requests the article URLs that `recent` keeps. Pure: no Scrapy, no network, no files.

Every form sitemaps.org allows is read: XML sitemaps and indexes, text sitemaps (one URL per
line) and RSS or Atom feeds given as sitemaps (through `crawler.sources.feeds`). Scrapy's own parser
(scrapy/utils/sitemap.py) keeps only `loc` and `lastmod`; Google News sitemaps carry the date
and title that matter in `news:publication_date` and `news:title`, so this module reads those
too. Bodies come from strangers: gzip is decompressed up to a cap, the
XML parser never touches the network or expands entities, malformed XML is recovered as far as
libxml2 can and the defect reported in `Sitemap.problem` (except a `<loc>` the end of the file
cut, which is dropped: a fragment is no URL), and a body that is not a sitemap at all raises
`SitemapError`.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler.errors import SitemapError
from crawler.sources.feeds import FeedError, parse_feed
from crawler.sources.safe_xml import SAFE_XML_OPTIONS
from crawler.text.languages import language_code
from crawler.text.urls import canonicalize, repair_url

__all__ = [
    "MAX_SITEMAP_BYTES",
    "RobotsSitemaps",
    "Sitemap",
    "SitemapEntry",
    "SitemapError",
    "SitemapWalk",
    "parse_sitemap",
    "recent",
    "recent_sitemaps",
    "sitemaps_from_robots",
]

# The sitemaps protocol caps a sitemap at 50 MB uncompressed and 50,000 URLs.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
_MIN_YEAR = 1990  # earlier dates are epoch-zero or two-digit-year accidents
_FUTURE_SLACK = timedelta(days=1)  # time zones and clock skew; beyond this a date is bogus
_MAX_PROBLEM = 200
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class SitemapEntry:
    loc: str  # absolute http(s) URL, resolved against the sitemap URL
    lastmod: datetime | None = None  # aware, UTC
    news_title: str | None = None  # <news:title>, whitespace collapsed
    news_publication_date: datetime | None = None  # <news:publication_date>, aware, UTC
    language: str | None = None  # <news:language> as ISO 639-1 (crawler.text.languages)

    @property
    def date(self) -> datetime | None:
        """The date `recent` judges by: the publication date, else lastmod."""
        return self.news_publication_date or self.lastmod


@dataclass(frozen=True)
class Sitemap:
    kind: Literal["urlset", "index"]
    entries: list[SitemapEntry] = field(default_factory=list)  # urlset: document order, one per loc
    sitemaps: list[str] = field(default_factory=list)  # index: child sitemap URLs, document order
    # index: the <lastmod> of each child that has one, for `recent_sitemaps`
    sitemap_lastmod: dict[str, datetime] = field(default_factory=dict)
    truncated: bool = False  # more than max_urls usable entries, or the size cap was hit
    problem: str | None = None  # malformed XML recovered, gzip damaged or capped: one line
    cut_locs: int = 0  # a <loc> the end of the file cut (a broken download): dropped
    form: Literal["xml", "text", "feed"] = "xml"  # the sitemaps.org form the body was in


@dataclass(frozen=True)
class RobotsSitemaps:
    urls: list[str]  # the sitemap URLs named, in order, once each
    problems: list[str]  # lines that looked like sitemap lines but were not quite: one line each


def parse_sitemap(
    body: bytes, url: str, max_urls: int = 50_000, max_bytes: int = MAX_SITEMAP_BYTES
) -> Sitemap:
    """Parse a downloaded sitemap or sitemap index; `url` is where it was fetched from.

    A gzipped body (by its magic bytes, whatever the URL or headers say) is decompressed, at
    most `max_bytes` of it; a plain body is read up to `max_bytes` too. Keeps the first
    `max_urls` usable entries (or child sitemaps), one per URL; `truncated` says when more
    were there. Only http(s) URLs are kept, relative ones resolved against `url`. Raises only
    `SitemapError`.
    """
    problems: list[str] = []
    truncated = False
    if body[:2] == _GZIP_MAGIC:
        body, gzip_problem, truncated = _gunzip(body, max_bytes)
        if gzip_problem:
            problems.append(gzip_problem)
    elif len(body) > max_bytes:
        body, truncated = body[:max_bytes], True
        problems.append(f"larger than {max_bytes} bytes: only the first {max_bytes} were read")
    if not body.strip():
        raise SitemapError("not a sitemap: empty body")
    if _is_text(body):
        return _text_sitemap(body, url, max_urls, truncated, problems)

    events = etree.iterparse(
        io.BytesIO(body), events=("start", "end"), recover=True, **SAFE_XML_OPTIONS
    )
    try:
        _, root = next(events)
    except (StopIteration, etree.LxmlError) as exc:
        raise SitemapError(_not_a_sitemap(body, exc)) from None
    root_name = _local_name(root.tag)
    if root_name == "urlset":
        kind: Literal["urlset", "index"] = "urlset"
    elif root_name == "sitemapindex":
        kind = "index"
    elif root_name in _FEED_ROOTS:
        return _feed_sitemap(body, url, max_urls, truncated, problems)
    else:
        head = body[:2048].lower()
        looks_html = root_name == "html" or b"<html" in head or b"<!doctype html" in head
        hint = "looks like an HTML page, " if looks_html else ""
        raise SitemapError(_clip(f"not a sitemap: {hint}root element <{root_name}>"))

    wanted = "url" if kind == "urlset" else "sitemap"
    root_ns = _namespace(root.tag)
    entries: list[SitemapEntry] = []
    seen: set[str] = set()
    last: SitemapEntry | None = None  # the entry of the last <loc> in the document
    try:
        for event, element in events:
            if event != "end" or _local_name(element.tag) != wanted:
                continue
            if not _is_sitemap_ns(element.tag, root_ns):
                continue  # not ours, whatever its name
            entry = _entry(element, url, root_ns, news=kind == "urlset")
            _release(element, root)
            last = None
            if entry is None or entry.loc in seen:
                continue
            if len(entries) >= max_urls:
                truncated = True
                break
            seen.add(entry.loc)
            entries.append(entry)
            last = entry
    except etree.LxmlError as exc:  # recover mode rarely gives up, but it can
        problems.append(f"malformed XML, parsing stopped: {exc}")
    syntax = _first_error(events.error_log)
    if syntax:
        problems.append(syntax)  # after a size cap, which often is what broke the XML
    cut_locs = 0
    if not truncated and _ends_inside_loc(events.error_log):
        # Recovery closes the open <loc> at the end of the data and hands over the fragment
        # ("https://x.example/2026/11/page_"): a URL that was never written whole.
        cut_locs = 1
        if last is not None and entries and entries[-1] is last:
            entries.pop()
        problems.append("the file ends inside a <loc>: that URL was dropped")

    problem = _clip("; ".join(problems)) if problems else None
    if kind == "index":
        return Sitemap(
            kind="index",
            sitemaps=[entry.loc for entry in entries],
            sitemap_lastmod={e.loc: e.lastmod for e in entries if e.lastmod is not None},
            truncated=truncated,
            problem=problem,
            cut_locs=cut_locs,
        )
    return Sitemap(
        kind="urlset", entries=entries, truncated=truncated, problem=problem, cut_locs=cut_locs
    )


# --- the other forms sitemaps.org allows ---

_FEED_ROOTS = frozenset({"rss", "feed", "RDF"})  # RSS 2.0 (and 0.9x, 1.0), Atom 0.3 and 1.0
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _is_text(body: bytes) -> bool:
    """A body that cannot be XML: it does not start with "<" (after a UTF-8 BOM and
    whitespace) and has no UTF-16/32 byte-order mark."""
    if body.startswith(_BOMS[1:]) or body[:1] == b"\x00":
        return False
    return body.removeprefix(_BOMS[0]).lstrip()[:1] != b"<"


def _text_sitemap(
    body: bytes, url: str, max_urls: int, truncated: bool, problems: list[str]
) -> Sitemap:
    """sitemaps.org's text form: one fully specified URL per line, UTF-8, nothing else."""
    text = body.decode("utf-8", errors="replace").removeprefix("\ufeff")
    entries: list[SitemapEntry] = []
    seen: set[str] = set()
    ignored = 0
    lines = text.splitlines()
    if truncated and lines and not text.endswith(("\n", "\r")):
        lines.pop()  # the cap cut the last line: a fragment, not a URL
    for line in lines:
        line = line.strip()
        if not line:
            continue
        loc = _http_url(line, url) if _ABSOLUTE_HTTP.match(repair_url(line)) else None
        if loc is None:
            ignored += 1
            continue
        if loc in seen:
            continue
        if len(entries) >= max_urls:
            truncated = True
            break
        seen.add(loc)
        entries.append(SitemapEntry(loc))
    if not entries:
        raise SitemapError("not a sitemap: neither XML nor a list of URLs")
    if ignored:
        problems.append(f"text sitemap: {ignored} lines that are not URLs ignored")
    problem = _clip("; ".join(problems)) if problems else None
    return Sitemap(
        kind="urlset", entries=entries, truncated=truncated, problem=problem, form="text"
    )


_ABSOLUTE_HTTP = re.compile(r"(?i)https?://")


def _feed_sitemap(
    body: bytes, url: str, max_urls: int, truncated: bool, problems: list[str]
) -> Sitemap:
    """An RSS 2.0 or Atom feed given as a sitemap: each entry's link is a URL, its date
    (pubDate, Atom's published or updated) the URL's last modification (sitemaps.org)."""
    try:
        feed = parse_feed(body, url, max_entries=max_urls)
    except FeedError as exc:
        raise SitemapError(f"feed given as a sitemap: {exc}") from None
    entries = [
        SitemapEntry(loc=e.link, lastmod=e.published, news_title=e.title, language=feed.language)
        for e in feed.entries
    ]
    if feed.problem:
        problems.append(feed.problem)
    problem = _clip("; ".join(problems)) if problems else None
    return Sitemap(
        kind="urlset",
        entries=entries,
        truncated=truncated or feed.truncated,
        problem=problem,
        form="feed",
    )


def sitemaps_from_robots(body: bytes | str, base_url: str) -> RobotsSitemaps:
    """The sitemap URLs of a robots.txt, in order, once each, and what was odd on the way.

    Keys as Google's robots.txt parser reads them: `Sitemap`, in any case, and the spellings
    `Site-map` and `Sitemaps`; a sitemap line without its colon (`Sitemap http://...`) is read
    too, as Google does, and reported. The protocol wants absolute URLs; a relative one is
    resolved against `base_url` (the robots.txt URL), as Scrapy does. Anything that is not
    http(s) after that is dropped, and so is a trailing `# comment`.
    """
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    found: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        name, colon, value = line.partition(":")
        if not colon or _ROBOTS_KEY.fullmatch(name.strip()) is None:
            # "Sitemap http://...", where the first colon is the URL's
            name, *rest = line.split(None, 1) or [""]
            if _ROBOTS_KEY.fullmatch(name) is None:
                continue
            value = rest[0] if rest else ""
            problems.append(f"robots.txt line {number}: no colon after {name!r}")
        value = value.strip()
        if not value:
            problems.append(f"robots.txt line {number}: {name.strip()!r} without a URL")
            continue
        sitemap_url = _http_url(value, base_url)
        if sitemap_url and sitemap_url not in found:
            found.append(sitemap_url)
    return RobotsSitemaps(found, problems[:20])


_ROBOTS_KEY = re.compile(r"(?i)site-?maps?")


def recent(
    entries: Iterable[SitemapEntry],
    max_age: timedelta,
    now: datetime,
    keep_undated: bool = True,
) -> list[SitemapEntry]:
    """The entries to crawl: dated no earlier than `now - max_age`, newest first, then the
    undated ones in sitemap order (unless `keep_undated` is false).

    The date is `news:publication_date`, else `lastmod`. A date more than a day after `now`
    is bogus (a wrong time zone is hours, not days) and the entry counts as undated.

    Undated entries are kept because they cannot be judged: dropping them would make a site
    whose sitemap has no `lastmod` yield nothing, silently. They come last so that the
    caller's cap (max entries per pass) cuts them first, and the store skips the ones already
    known on later passes. An undated Google News entry is invalid but sits in a file meant to
    hold only the last two days, so it gets the same treatment.
    """
    if now.tzinfo is None:
        raise ValueError("recent(): `now` must be timezone-aware")
    oldest = now - max_age
    latest = now + _FUTURE_SLACK
    dated: list[SitemapEntry] = []
    undated: list[SitemapEntry] = []
    for entry in entries:
        date = entry.date
        if date is None or date > latest:
            undated.append(entry)
        elif date >= oldest:
            dated.append(entry)
    dated.sort(key=lambda entry: entry.date or oldest, reverse=True)  # stable: ties keep order
    return dated + undated if keep_undated else dated


def recent_sitemaps(sitemap: Sitemap, max_age: timedelta, now: datetime) -> list[str]:
    """Children of a sitemap index worth fetching: those whose `lastmod` is no earlier than
    `now - max_age`, newest first, then those without a `lastmod` in index order.

    News sites keep one child per month or day going back years; a child not modified within
    `max_age` cannot list an article newer than that. Newest first, so that `SitemapWalk`'s cap
    on sitemaps per pass drops the old archives, not this week's.
    """
    if now.tzinfo is None:
        raise ValueError("recent_sitemaps(): `now` must be timezone-aware")
    entries = [SitemapEntry(loc, sitemap.sitemap_lastmod.get(loc)) for loc in sitemap.sitemaps]
    return [entry.loc for entry in recent(entries, max_age, now)]


class SitemapWalk:
    """Which sitemaps to fetch during one pass over a source, so that the walk always ends.

    The spider registers its starting sitemaps with `start` and, for each index it parses,
    asks `children(parent, urls)` which child URLs to request. A URL is handed out once per
    walk (compared in canonical form); a child that is its parent or one of its ancestors is a
    loop and is reported; children deeper than `max_depth` (roots are depth 0) and anything
    beyond `max_sitemaps` URLs in total are refused and reported. `problems` collects those
    reports (one line each) and `truncated` is set when a cap refused something.
    """

    def __init__(self, max_depth: int = 3, max_sitemaps: int = 50) -> None:
        self.max_depth = max_depth
        self.max_sitemaps = max_sitemaps
        self.problems: list[str] = []
        self.truncated = False
        self._depth: dict[str, int] = {}  # canonical URL -> depth
        self._parent: dict[str, str | None] = {}  # canonical URL -> canonical parent

    @property
    def fetched(self) -> int:
        """How many sitemap URLs were handed out so far."""
        return len(self._depth)

    def start(self, url: str) -> bool:
        """Register a starting sitemap (depth 0); False when it was handed out already or the
        cap is reached, or it is not an http(s) URL."""
        key = _key(url)
        if key is None or key in self._depth:
            return False
        if len(self._depth) >= self.max_sitemaps:
            self._refuse_cap(1)
            return False
        self._depth[key] = 0
        self._parent[key] = None
        return True

    def children(self, parent: str, urls: Iterable[str]) -> list[str]:
        """The child sitemaps of index `parent` to request now, in the order given.

        `parent` should be the URL that was requested (before redirects); an unknown parent is
        registered as a starting sitemap.
        """
        parent_key = _key(parent)
        if parent_key is None:
            return []
        if parent_key not in self._depth:
            self._depth[parent_key] = 0
            self._parent[parent_key] = None
        depth = self._depth[parent_key] + 1
        ancestors = self._ancestors(parent_key)
        accepted: list[str] = []
        refused_cap = 0
        for child in urls:
            key = _key(child)
            if key is None:
                continue
            if key == parent_key:
                self._report(f"sitemap index {parent} lists itself: ignored")
            elif key in ancestors:
                self._report(f"sitemap loop: {parent} lists its ancestor {child}: ignored")
            elif key in self._depth:
                continue  # listed twice (robots.txt and an index, say): fetched once
            elif depth > self.max_depth:
                self.truncated = True
                self._report(f"sitemap {child} is nested deeper than {self.max_depth}: ignored")
            elif len(self._depth) >= self.max_sitemaps:
                refused_cap += 1
            else:
                self._depth[key] = depth
                self._parent[key] = parent_key
                accepted.append(child)
        if refused_cap:
            self._refuse_cap(refused_cap)
        return accepted

    def _ancestors(self, key: str) -> set[str]:
        found: set[str] = set()
        current = self._parent.get(key)
        while current is not None and current not in found:
            found.add(current)
            current = self._parent.get(current)
        return found

    def _refuse_cap(self, count: int) -> None:
        self.truncated = True
        self._report(f"sitemap cap of {self.max_sitemaps} per pass reached: {count} not fetched")

    def _report(self, line: str) -> None:
        if len(self.problems) < 100:  # a hostile index must not grow this without bound
            self.problems.append(_clip(line))


# --- parsing details ---


def _gunzip(body: bytes, max_bytes: int) -> tuple[bytes, str | None, bool]:
    """(decompressed bytes, problem, truncated); concatenated gzip members are all read."""
    out = bytearray()
    data = body
    while data[:2] == _GZIP_MAGIC:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            while True:
                room = max_bytes - len(out)
                chunk = inflater.decompress(data, min(room, _CHUNK) + 1)
                out += chunk
                if len(out) > max_bytes:
                    del out[max_bytes:]
                    return bytes(out), _gzip_cap(max_bytes), True
                data = inflater.unconsumed_tail
                if inflater.eof or (not data and not chunk):
                    break
        except zlib.error as exc:
            if not out:
                raise SitemapError(f"not a sitemap: unreadable gzip data: {exc}") from None
            return bytes(out), "gzip data damaged: read up to the damage", False
        if not inflater.eof:
            if not out:
                raise SitemapError("not a sitemap: gzip data cut short before any content")
            return bytes(out), "gzip data cut short: read what arrived", False
        data = inflater.unused_data
    return bytes(out), None, False


def _gzip_cap(max_bytes: int) -> str:
    return (
        f"decompresses to more than {max_bytes} bytes (a gzip bomb?): only the first "
        f"{max_bytes} were read"
    )


def _entry(element: etree._Element, base: str, root_ns: str, news: bool) -> SitemapEntry | None:
    loc = lastmod = title = published = language = None
    for child in element:
        name = _local_name(child.tag)
        if name == "loc" and loc is None and _is_sitemap_ns(child.tag, root_ns):
            text = _text(child)
            loc = _http_url(text, base) if text else None  # "" would resolve to `base`
        elif name == "lastmod" and _is_sitemap_ns(child.tag, root_ns):
            lastmod = _parse_date(_text(child))
        elif news and name == "news" and _is_news_ns(child.tag):
            for part in child.iter():
                part_name = _local_name(part.tag)
                if part_name == "title" and title is None:
                    title = " ".join(_text(part).split()) or None
                elif part_name == "publication_date" and published is None:
                    published = _parse_date(_text(part))
                elif part_name == "language" and language is None:
                    language = language_code(_text(part))
    if loc is None:
        return None
    return SitemapEntry(loc, lastmod, title, published, language)


def _release(element: etree._Element, root: etree._Element) -> None:
    # Keep memory flat on 50,000-URL files: drop each handled element and, at the top level,
    # its predecessors. (Recovery can nest a <url> inside the previous one, before that one's
    # own <loc>: those must stay until their parent is read.)
    element.clear()
    if element.getparent() is root:
        while element.getprevious() is not None:
            del root[0]


def _local_name(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    # "{ns}name", or "prefix:name" when recovery kept an undeclared prefix (a common mistake:
    # news sitemaps that forget xmlns:news).
    return tag.rpartition("}")[2].rpartition(":")[2]


def _namespace(tag: str) -> str:
    if tag.startswith("{"):
        return tag[1:].partition("}")[0]
    prefix, colon, _ = tag.partition(":")
    return prefix if colon else ""


_SITEMAP_NS = re.compile(r"/sitemap/[\d.]+/?")


def _is_sitemap_ns(tag: str, root_ns: str) -> bool:
    # The root's namespace, sitemaps.org's or Google's pre-2006 one (whatever the version), or
    # none; never xhtml:link, image:loc, video:..., whose namespaces are "sitemap-image" etc.
    namespace = _namespace(tag)
    return not namespace or namespace == root_ns or bool(_SITEMAP_NS.search(namespace))


def _is_news_ns(tag: str) -> bool:
    namespace = _namespace(tag)
    return "sitemap-news" in namespace or namespace == "news"


def _text(element: etree._Element) -> str:
    return "".join(element.itertext()).strip()


def _http_url(value: str, base: str) -> str | None:
    try:
        absolute = urljoin(base, repair_url(value))
        parts = urlsplit(absolute)
    except ValueError:  # an unclosed IPv6 bracket, say
        return None
    if parts.scheme in ("http", "https") and parts.hostname:
        return absolute
    return None


_YEAR_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _parse_date(value: str) -> datetime | None:
    """W3C Datetime (every ISO 8601 form Python reads, plus YYYY and YYYY-MM), else RFC 822.

    A date without a zone is taken as UTC, as feedparser does for feeds.
    """
    value = value.strip()
    if not value or len(value) > 64:
        return None
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        if value.isdigit() and len(value) == 4:
            moment = datetime(int(value), 1, 1)
        elif match := _YEAR_MONTH.fullmatch(value):
            try:
                moment = datetime(int(match[1]), int(match[2]), 1)
            except ValueError:
                return None
        else:
            try:
                moment = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment if moment.year >= _MIN_YEAR else None


_CUT_IN_LOC = re.compile(r"Premature end of data in tag (?:[\w.-]+:)?loc\b")


def _ends_inside_loc(log: etree._ListErrorLog) -> bool:
    """libxml2 says the data ended while a <loc> was open (only the last one can be)."""
    return any(_CUT_IN_LOC.match(error.message) for error in log)


def _first_error(log: etree._ListErrorLog) -> str | None:
    for error in log:
        if error.level >= etree.ErrorLevels.ERROR:
            count = sum(1 for e in log if e.level >= etree.ErrorLevels.ERROR)
            more = f" (and {count - 1} more)" if count > 1 else ""
            return _clip(f"malformed XML: {error.message.strip()} at line {error.line}{more}")
    return None


def _not_a_sitemap(body: bytes, exc: BaseException) -> str:
    head = body[:2048].lower()
    if b"<html" in head or b"<!doctype html" in head:
        return "not a sitemap: looks like an HTML page"
    if isinstance(exc, etree.LxmlError):
        return _clip(f"not a sitemap: not XML: {exc}")
    return "not a sitemap: no XML element found"


def _key(url: str) -> str | None:
    try:
        return canonicalize(url)
    except ValueError:
        return None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_PROBLEM else text[: _MAX_PROBLEM - 1] + "…"
