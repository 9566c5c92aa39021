"""Feed parsing: the body of a downloaded feed becomes entries with absolute links.

config → schedule → spiders (**feeds**) → `Article` item → pipelines. The feeds spider hands
each downloaded feed, raw bytes plus HTTP headers, to `parse_feed`; every entry link becomes an
article request, with the entry's title and date carried along as hints. Pure: no Scrapy, no
network, no files, so broken and hostile feeds are tested directly.

RSS 0.9x/1.0/2.0, Atom and CDF go through feedparser; JSON Feed, which feedparser 6 does not
read, through the stdlib json module. Either way the caller gets the same `ParsedFeed`, or a
`FeedError` when the body is not a usable feed at all.
"""

from __future__ import annotations

import codecs
import html
import io
import json
import re
import xml.sax
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import feedparser

from crawler.errors import FeedError
from crawler.sources.links import ArticleLink
from crawler.text.languages import language_code
from crawler.text.urls import is_home_page, repair_url

__all__ = ["ArticleLink", "FeedError", "ParsedFeed", "parse_feed"]

_MIN_YEAR = 1990  # earlier dates are epoch-zero or two-digit-year accidents, not news
_MAX_PROBLEM = 200  # problems end up in logs and the review UI: keep them one line
_MAX_AUTHOR = 300  # a byline; longer is a list of every contributor to a paper
_JSON_TYPES = frozenset({"application/json", "application/feed+json"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_JSONFEED_VERSIONS = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
# feedparser's own "this still parsed fine, but" complaints.
_SOFT_PROBLEMS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


@dataclass(frozen=True)
class ParsedFeed:
    entries: list[ArticleLink]  # feed order, first occurrence of each link kept
    title: str | None
    language: str | None  # ISO 639-1 (crawler.text.languages), from the feed or Content-Language
    problem: str | None  # why feedparser flagged the feed (bozo) although it recovered it
    truncated: bool = False  # more than max_entries usable entries; the caller logs the cap
    skipped: int = 0  # entries dropped for lacking an http(s) link (up to the cap)
    home_pages: int = 0  # entries whose link is the site's home page: not articles


def parse_feed(
    body: bytes,
    url: str,
    headers: Mapping[str, str] | None = None,
    max_entries: int = 500,
) -> ParsedFeed:
    """Parse a downloaded feed; `url` is where it was fetched from (the base for relative links).

    `headers` are the HTTP response headers with str names and values (Scrapy:
    `response.headers.to_unicode_dict()`); Content-Type and its charset and Content-Language
    take part in decoding as feedparser implements them, Content-Location is the base of
    relative links. Keeps the first `max_entries` usable entries; an entry without an http(s)
    link or whose link is the site's home page is skipped and counted. Raises only
    `FeedError`.
    """
    lowered = {str(name).lower(): value for name, value in (headers or {}).items()}
    if not body or body.isspace():
        raise FeedError("not a feed: empty body")
    base = _base_url(url, lowered.get("content-location"))
    media_type = _media_type(lowered.get("content-type"))
    if _looks_like_json(body, media_type):
        return _parse_json_feed(body, base, max_entries)
    return _parse_xml_feed(body, base, lowered, media_type, max_entries)


# --- XML feeds, through feedparser ---


def _parse_xml_feed(
    body: bytes, base: str, headers: dict[str, str], media_type: str, max_entries: int
) -> ParsedFeed:
    response_headers = dict(headers)
    # feedparser treats "HTTP headers without a Content-Type" as an error and then decodes
    # undeclared documents as ISO-8859-1, mangling UTF-8 feeds; "application/xml" gives its
    # no-HTTP behaviour instead (BOM, then XML declaration, then UTF-8) without that flag.
    if not response_headers.get("content-type"):
        response_headers["content-type"] = "application/xml"
    # No base for feedparser: it would resolve links against it before we see them, and
    # urljoin reads a malformed absolute link on the base's scheme ("http:/host/a") as a
    # path on the feed's host. xml:base still applies; `_first_http_url` repairs each link
    # and then resolves it against the feed's URL or Content-Location.
    response_headers.pop("content-location", None)
    try:
        # BytesIO: given bytes, feedparser would first try to open them as a local file name.
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=response_headers,
            # Titles and summaries leave this module as plain text (_html_to_text drops
            # markup, scripts and styles), so sanitizing the HTML or resolving the URIs inside
            # it would be work on markup that is thrown away.
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # hostile bytes must not crash the spider; callers expect FeedError
        raise FeedError(
            f"not a feed: parser failed: {_clip(f'{type(exc).__name__}: {exc}')}"
        ) from exc

    raw_entries = result.get("entries") or []
    exc = result.get("bozo_exception") if result.get("bozo") else None
    if not raw_entries:
        if not result.get("version"):
            raise FeedError(_not_a_feed(body, media_type, exc))
        # An encoding or media-type complaint on an empty but recognised feed is not "broken".
        if exc is not None and not isinstance(exc, _SOFT_PROBLEMS):
            raise FeedError(_not_a_feed(body, media_type, exc))

    collected = _collect(
        raw_entries,
        lambda raw: _first_http_url(_link_candidates(raw), base),
        _xml_entry,
        max_entries,
    )
    feed = result.get("feed") or {}
    return ParsedFeed(
        entries=collected.entries,
        title=_detail_text(feed, "title"),
        language=language_code(feed.get("language")),
        problem=_describe(exc, body) if exc is not None else None,
        truncated=collected.truncated,
        skipped=collected.skipped,
        home_pages=collected.home_pages,
    )


def _link_candidates(raw: Mapping[str, Any]) -> list[Any]:
    # `link` is feedparser's pick (first alternate link, or an RSS guid that is a permalink);
    # other alternates are fallbacks when that one is not http(s). Enclosures and rel=self
    # point at media or at the feed itself, not at the article.
    candidates = [raw.get("link")]
    for link in raw.get("links") or []:
        if isinstance(link, Mapping) and link.get("rel", "alternate") == "alternate":
            candidates.append(link.get("href"))
    return candidates


def _xml_entry(raw: Mapping[str, Any], link: str) -> ArticleLink:
    # feedparser copies Atom <content> into `summary` without a summary_detail; the content's
    # own type then says whether it is HTML.
    content = raw.get("content")
    fallback = content[0] if isinstance(content, list) and content else None
    publisher, publisher_url = _publisher(raw, link)
    return ArticleLink(
        link=link,
        title=_detail_text(raw, "title"),
        published=_entry_date(raw, "published") or _entry_date(raw, "updated"),
        summary=_detail_text(raw, "summary", fallback),
        entry_id=_stripped(raw.get("id")),
        publisher=publisher,
        publisher_url=publisher_url,
        author=_authors(raw.get("authors"), raw.get("author_detail")),
    )


def _authors(*candidates: Any) -> str | None:
    """The entry's author names, in order, once each: feedparser's `authors` (a list of
    {name, email}), else its `author_detail`; JSON Feed's `authors` (1.1) or `author` (1.0).
    feedparser parses RSS's "jane@example.org (Jane Doe)" into a name and an address: an
    address alone gives no name. None when there is none."""
    names: list[str] = []
    for candidate in candidates:
        people = candidate if isinstance(candidate, list) else [candidate]
        for person in people:
            name = person.get("name") if isinstance(person, Mapping) else None
            if isinstance(name, str) and "@" not in name:
                name = _plain(name)
                if name and name not in names:
                    names.append(name)
        if names:
            break
    joined = "; ".join(names)
    return joined[:_MAX_AUTHOR].rstrip() or None


def _publisher(raw: Mapping[str, Any], link: str) -> tuple[str | None, str | None]:
    """The outlet an entry names: RSS `<source url="...">Name</source>` (Google News puts the
    publisher there), else Bing News's `<News:Source>Name</News:Source>`."""
    source = raw.get("source")
    name = url = None
    if isinstance(source, Mapping):
        title = source.get("title")
        name = _plain(title) if isinstance(title, str) else None
        url = _first_http_url([source.get("href")], link)
    if name is None and isinstance(raw.get("news_source"), str):
        name = _plain(raw["news_source"])
    return name, url


def _detail_text(node: Mapping[str, Any], key: str, fallback: Any = None) -> str | None:
    value = node.get(key)
    if not isinstance(value, str):
        return None
    detail = node.get(f"{key}_detail", fallback)
    content_type = detail.get("type") if isinstance(detail, Mapping) else None
    return _plain(value, is_html=content_type in _HTML_TYPES)


def _entry_date(raw: Mapping[str, Any], key: str) -> datetime | None:
    # dict.get: FeedParserDict answers a missing updated_parsed with published_parsed and a
    # DeprecationWarning; we want each field for itself.
    moment = _from_struct(dict.get(raw, f"{key}_parsed"))
    if moment is None:
        # feedparser's RFC 822 parser rejects day names that are not English
        # ("mer, 16 nov 2022 00:38:15 +0100"); the stdlib one skips them.
        moment = _from_rfc822(dict.get(raw, key))
    return moment


def _from_struct(value: Any) -> datetime | None:
    # feedparser's *_parsed values are UTC struct_times.
    try:
        year, month, day, hour, minute, second = (int(part) for part in value[:6])
        # A leap second (60) is valid in a struct_time but not in datetime.
        moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        return None
    return _plausible(moment)


def _from_rfc822(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 100:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # No zone, or one it could not read ("GMT+9"): hours off is worse than no date.
    return _plausible(moment) if moment.tzinfo is not None else None


def _plausible(moment: datetime) -> datetime | None:
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    # Future dates stay: whether to trust them is the caller's decision.
    return moment if moment.year >= _MIN_YEAR else None


def _describe(exc: BaseException, body: bytes) -> str:
    if isinstance(exc, xml.sax.SAXParseException):
        return _clip(f"malformed XML: {exc.getMessage()} at line {_source_line(exc, body)}")
    if isinstance(exc, feedparser.CharacterEncodingOverride | feedparser.CharacterEncodingUnknown):
        return _clip(f"encoding: {exc}")
    if isinstance(exc, feedparser.NonXMLContentType):
        return _clip(f"content type: {exc}")
    if isinstance(exc, feedparser.UndeclaredNamespace):
        return _clip(f"malformed XML: {exc}")
    return _clip(f"{type(exc).__name__}: {exc}")


def _not_a_feed(body: bytes, media_type: str, exc: BaseException | None) -> str:
    head = body[:2048].lower()
    if media_type in _HTML_TYPES or b"<html" in head or b"<!doctype html" in head:
        return "not a feed: looks like an HTML page"
    if isinstance(exc, xml.sax.SAXParseException):
        return _clip(
            f"not a feed: XML syntax error at line {_source_line(exc, body)}: {exc.getMessage()}"
        )
    if exc is not None:
        return f"not a feed: {_describe(exc, body)}"
    return "not a feed: no RSS, Atom or RDF document element"


_XML_DECLARATIONS = tuple(
    "<?xml".encode(encoding)
    for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)
_BOMS = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)


def _source_line(exc: xml.sax.SAXParseException, body: bytes) -> int:
    # feedparser prepends an XML declaration line to documents without one before parsing,
    # so its line numbers are one too high for them.
    line = exc.getLineNumber() or 1
    start = body[:8]
    for bom in _BOMS:
        if start.startswith(bom):
            start = body[len(bom) : len(bom) + 20]
            break
    if not start.startswith(_XML_DECLARATIONS):
        line -= 1
    return max(line, 1)


# --- JSON Feed (https://jsonfeed.org/version/1.1) ---


def _looks_like_json(body: bytes, media_type: str) -> bool:
    head = body[:1024].removeprefix(codecs.BOM_UTF8).lstrip()
    if head.startswith(b"{"):
        return True
    # Servers label feeds wrongly both ways: trust an XML-looking body over a JSON label.
    is_json_type = media_type in _JSON_TYPES or media_type.endswith("+json")
    return is_json_type and not head.startswith(b"<")


def _parse_json_feed(body: bytes, base: str, max_entries: int) -> ParsedFeed:
    try:
        doc = json.loads(body)  # detects UTF-8/16/32 and a UTF-8 BOM itself
    except (ValueError, RecursionError) as exc:
        raise FeedError(_clip(f"not a feed: invalid JSON: {exc}")) from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith(_JSONFEED_VERSIONS):
        raise FeedError("not a feed: JSON document without a jsonfeed.org version")
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedError("not a feed: JSON Feed without an items list")

    collected = _collect(
        (item for item in items if isinstance(item, dict)),
        lambda item: _first_http_url(
            [item.get("url"), _absolute_http_id(item.get("id")), item.get("external_url")], base
        ),
        _json_entry,
        max_entries,
    )
    title = doc.get("title")
    return ParsedFeed(
        entries=collected.entries,
        title=_plain(title) if isinstance(title, str) else None,
        language=language_code(doc.get("language")),
        problem=None,
        truncated=collected.truncated,
        skipped=collected.skipped,
        home_pages=collected.home_pages,
    )


def _absolute_http_id(value: Any) -> str | None:
    """An item id that is an absolute http(s) URL: JSON Feed 1.1 says the id should be the
    item's URL when it is one, and generators that set it leave out `url`. Any other id
    ("123", "tag:...", a path) is an identifier only, never resolved into a link."""
    if not isinstance(value, str):
        return None
    value = repair_url(value)
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def _json_entry(item: dict[str, Any], link: str) -> ArticleLink:
    title = item.get("title")
    summary = None
    for key in ("summary", "content_text", "content_html"):
        value = item.get(key)
        if isinstance(value, str):
            summary = _plain(value, is_html=key == "content_html")
            if summary:
                break
    entry_id = item.get("id")
    if isinstance(entry_id, int | float) and not isinstance(entry_id, bool):
        entry_id = str(entry_id)  # the spec says string, publishers often write numbers
    return ArticleLink(
        link=link,
        title=_plain(title) if isinstance(title, str) else None,
        published=_from_rfc3339(item.get("date_published"))
        or _from_rfc3339(item.get("date_modified")),
        summary=summary,
        entry_id=_stripped(entry_id),
        author=_authors(item.get("authors"), item.get("author")),
    )


def _from_rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 100:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().upper())  # "t" and "z" are RFC 3339 too
    except ValueError:
        return _from_rfc822(value)  # some generators write RSS-style dates
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # as feedparser reads zone-less W3C dates
    return _plausible(moment)


# --- shared ---

_T = TypeVar("_T")


@dataclass
class _Collected:
    entries: list[ArticleLink]
    truncated: bool = False
    skipped: int = 0
    home_pages: int = 0


def _collect(
    raw_entries: Iterable[_T],
    link_of: Callable[[_T], str | None],
    build: Callable[[_T, str], ArticleLink],
    max_entries: int,
) -> _Collected:
    """Entries in feed order, one per link, at most max_entries."""
    collected = _Collected([])
    seen: set[str] = set()
    for raw in raw_entries:
        link = link_of(raw)
        if link is None:
            collected.skipped += 1
        elif is_home_page(link):
            # A feed item pointing at the front page (a "visit our site" entry, a CMS
            # placeholder for an item without a permalink) is not an article.
            collected.home_pages += 1
        elif link not in seen:
            if len(collected.entries) >= max_entries:
                collected.truncated = True
                return collected
            seen.add(link)
            collected.entries.append(build(raw, link))
    return collected


def _first_http_url(candidates: Iterable[Any], base: str) -> str | None:
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.strip():
            continue
        try:
            absolute = urljoin(base, repair_url(candidate))
            parts = urlsplit(absolute)
            if parts.scheme in ("http", "https") and parts.hostname:
                return absolute
        except ValueError:  # e.g. an unclosed IPv6 bracket
            continue
    return None


def _base_url(url: str, content_location: str | None) -> str:
    if content_location:
        try:
            joined = urljoin(url, content_location.strip())
            if urlsplit(joined).scheme in ("http", "https"):
                return joined
        except ValueError:
            pass
    return url


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


# Tags that separate words when HTML becomes text ("<p>a</p><p>b</p>" is "a b", not "ab").
_BLOCK_TAGS = frozenset(
    {"blockquote", "br", "div", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "p", "td", "th"}
)
_TAG_START = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)|<[!?]")
_RAW_TEXT_END = {
    "script": re.compile(r"</script", re.IGNORECASE),
    "style": re.compile(r"</style", re.IGNORECASE),
}


def _plain(value: str, is_html: bool = False) -> str | None:
    """Plain text with whitespace collapsed; None when nothing is left."""
    if is_html:
        value = _html_to_text(value)
    return " ".join(value.split()) or None


def _html_to_text(markup: str) -> str:
    # Hand-rolled rather than html.parser: that one goes quadratic on hostile input such as
    # "<a<a<a..." (seconds for 200 kB), and feed summaries come from strangers. Every search
    # below starts where the previous one stopped, so this stays linear.
    parts: list[str] = []
    pos, end = 0, len(markup)
    while pos < end:
        lt = markup.find("<", pos)
        if lt < 0:
            parts.append(markup[pos:])
            break
        parts.append(markup[pos:lt])
        tag = _TAG_START.match(markup, lt)
        if tag is None:  # "a < b": a literal less-than sign
            parts.append("<")
            pos = lt + 1
            continue
        if markup.startswith("<!--", lt):
            close = markup.find("-->", lt + 4)
            pos = end if close < 0 else close + 3
            continue
        gt = markup.find(">", tag.end())
        if gt < 0:  # an unterminated tag swallows the rest, as in browsers
            break
        pos = gt + 1
        name = (tag.group(2) or "").lower()
        if name in _BLOCK_TAGS:
            parts.append(" ")
        elif name in _RAW_TEXT_END and not tag.group(1):
            closing = _RAW_TEXT_END[name].search(markup, pos)
            pos = end if closing is None else closing.start()
    return html.unescape("".join(parts))


def _stripped(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_PROBLEM else text[: _MAX_PROBLEM - 1] + "…"
