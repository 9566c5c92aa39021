"""Article extraction: a downloaded page's HTML → main text and metadata.

spider → **extract** → clean → dedup → tag → store. The extract pipeline is a thin Scrapy
adapter around `extract_article`, which it runs in worker processes
(`crawler.extract.pool`); this module is pure (no Scrapy, no I/O) so it can be
tested on stored pages and re-run on kept HTML when the extractor changes.

The page is parsed once; trafilatura gets the parsed tree for both text and metadata, and
the fields trafilatura does not check the way we need (language, canonical URL, date
sanity) are read from the same tree. When the feed entry gave the article's title, date and
author (a `Byline` and its date), the page's title, date and author would only repeat them:
they are taken from the entry and trafilatura reads the text alone (its metadata search was
a third of a page's extraction: `python bench/run.py throughput`). An article page without
article text (a paywall, a consent wall: `crawler.extract.headline` decides) gives its
metadata alone, for a headline-only article (`read_page`).
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import htmldate
import trafilatura
from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.headline import article_page
from crawler.extract.result import Byline, Extracted
from crawler.text.languages import language_code
from crawler.text.urls import canonicalize, repair_url

__all__ = [
    "EXTRACTOR",
    "Byline",
    "Extracted",
    "MAX_ELEMENTS",
    "MAX_HTML_CHARS",
    "MIN_TEXT_WORDS",
    "detect_language",
    "entry_only",
    "extract_article",
    "read_page",
]

logger = logging.getLogger(__name__)

EXTRACTOR = f"trafilatura {trafilatura.__version__}"

# The largest corpus page is 2.2 M characters (inline JSON payloads); an article never needs
# more, and extraction time grows with input (4 M characters of text take 2-5 s).
# Cutting keeps the head (metadata) and the start of the body; lxml repairs the cut markup.
MAX_HTML_CHARS = 4_000_000
# Element counts: the largest corpus page has 4,100. trafilatura's justext fallback is
# quadratic in runs of short blocks (4,000 one-cell tables took 5 s, 16,000 took 45 s), so
# bigger trees skip the fallbacks (fast mode, linear: about 6 s per 50,000 elements), and
# trees beyond the hard cap are listings or dumps, not articles.
FAST_MODE_ELEMENTS = 10_000
MAX_ELEMENTS = 50_000

# Below this many words a page is navigation, a login wall, a consent or an error page, not
# an article: the shortest annotated corpus body has 69 words. Characters of scripts
# written without spaces count one word each (a CJK character carries about a word).
MIN_TEXT_WORDS = 50
# Enough text for py3langid to be sure; classifying megabytes only costs time.
_LANGID_SAMPLE_CHARS = 10_000

# Day-precision dates are in the site's time zone, which can be up to 14 h ahead of UTC:
# a page dated "tomorrow" in UTC terms was published in the last hours, not in the future.
DAY_DATE_TOLERANCE = timedelta(days=1)
# Timestamps (feed entries, page metadata with a time) only get the clock skew between the
# publisher's servers and ours; anything further ahead is a scheduled or mistyped date.
CLOCK_SKEW = timedelta(minutes=15)
# htmldate skips dates after its max_date and digs on; with a far bound it returns the page's
# own (future) date, which we reject for the feed's.
_DATE_SEARCH_HORIZON = timedelta(days=3653)

# Below this probability py3langid is guessing (mixed-language or code-heavy text).
_MIN_LANGID_CONFIDENCE = 0.5

_NO_SPACE_SCRIPTS = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
)
_WORD = re.compile(rf"[{_NO_SPACE_SCRIPTS}]|[^\W{_NO_SPACE_SCRIPTS}]+")


def extract_article(
    html: str,
    page_url: str,
    feed_published: datetime | None = None,
    now: datetime | None = None,
) -> Extracted | None:
    """None when the page has no extractable article text (too short / empty / not an article)."""
    return read_page(html, page_url, feed_published, now)


def read_page(
    html: str,
    page_url: str,
    feed_published: datetime | None = None,
    now: datetime | None = None,
    link_url: str | None = None,
    byline: Byline | None = None,
) -> Extracted | None:
    """The page's article. With `link_url` (the entry's link), an article page that yields no
    article text (a paywall, a consent wall: `crawler.extract.headline`) gives its metadata
    with an empty text, for a headline-only article. With the entry's `byline`, when it has a
    title and an author and `feed_published` is a date that is not in the future, those are
    the article's and the page's own metadata is not read. None when there is no article."""
    now = _as_utc(now) if now is not None else datetime.now(UTC)
    from_entry = _entry_metadata(byline, feed_published, now)
    tree = _parse(html[:MAX_HTML_CHARS], page_url)
    if tree is None:
        return None
    elements = _count_nodes(tree)
    if elements > MAX_ELEMENTS:
        logger.info("not extracting %s: %d HTML elements", page_url, elements)
        return None
    try:
        document = trafilatura.bare_extraction(
            tree,
            url=page_url,
            fast=elements > FAST_MODE_ELEMENTS,
            # Reader comments are not the article: they would leak into tags and fingerprints.
            include_comments=False,
            with_metadata=from_entry is None,
            date_extraction_params=_page_date_params(now),
        )
    except Exception:
        # Third-party code on hostile input: the page fails, not the crawl.
        logger.warning("trafilatura failed on %s", page_url, exc_info=True)
        return None
    if from_entry is not None:
        title, author, published = from_entry
    elif document is not None:
        title, author = _clean_field(document.title), _clean_field(document.author)
        published = _choose_published(_parse_page_date(document.date), feed_published, now)
    else:
        title = author = published = None
    text = _clean_text(document.text or "", title) if document is not None else ""
    if not _has_words(text, MIN_TEXT_WORDS):
        if link_url is None or not article_page(tree, link_url, page_url):
            return None
        if document is None and from_entry is None:
            # trafilatura found no text at all, and so read no metadata.
            page_date = _parse_page_date(_metadata_date(tree, now))
            published = _choose_published(page_date, feed_published, now)
        # An article page's metadata without its text. A date in the running text is not
        # looked for: what little text there is belongs to the wall, not to the article.
        tags = _page_tags(tree)
        return Extracted(
            title=title,
            author=author,
            published=published,
            language=_declared_language(tree, tags),
            text="",
            canonical_url=_canonical_url(tags, page_url),
            extractor=EXTRACTOR,
        )
    tags = _page_tags(tree)
    return Extracted(
        title=title,
        author=author,
        published=published or _text_date(html[:MAX_HTML_CHARS], page_url, now),
        language=_declared_language(tree, tags) or _detect_language(text),
        text=text,
        canonical_url=_canonical_url(tags, page_url),
        extractor=EXTRACTOR,
    )


class _Metadata(NamedTuple):
    title: str
    author: str
    published: datetime


def _entry_metadata(
    byline: Byline | None, feed_published: datetime | None, now: datetime
) -> _Metadata | None:
    """The entry's title, author and date, when it has all three and its date is not in the
    future (a scheduled or mistyped date: the page's own is looked for then)."""
    if byline is None or not byline.stands_for_page or feed_published is None:
        return None
    title, author = _clean_field(byline.title), _clean_field(byline.author)
    published = _choose_published(None, feed_published, now)
    if title is None or author is None or published is None:
        return None
    return _Metadata(title, author, published)


def _metadata_date(tree: HtmlElement, now: datetime) -> str | None:
    try:
        return htmldate.find_date(tree, **_page_date_params(now))
    except Exception:
        # Third-party code on hostile input: the page keeps no date of its own.
        logger.warning("htmldate failed", exc_info=True)
        return None


def entry_only(
    feed_published: datetime | None, now: datetime | None = None, author: str | None = None
) -> Extracted:
    """What there is of an article without a page (a search entry that did not resolve): the
    entry's date, under the same rule for the future as a page's, and its author."""
    now = _as_utc(now) if now is not None else datetime.now(UTC)
    return Extracted(
        title=None,
        author=_clean_field(author),
        published=_choose_published(None, feed_published, now),
        language=None,
        text="",
        canonical_url=None,
        extractor="",
    )


def detect_language(text: str) -> str | None:
    """The language of `text` when py3langid is confident, as an ISO 639-1 code."""
    return _detect_language(text)


def _parse(html: str, page_url: str) -> HtmlElement | None:
    try:
        return trafilatura.load_html(html)
    except Exception:
        # lxml on arbitrary input: any failure means there is no page to read.
        logger.warning("unparsable HTML from %s", page_url, exc_info=True)
        return None


# What `tree.iter()` yields (elements, comments, processing instructions), counted by libxml2:
# iterating made a Python proxy of every element (0.6 ms a corpus page against 0.3 ms).
_NODES = etree.XPath(
    "count(descendant-or-self::*|descendant::comment()|descendant::processing-instruction())"
)


def _count_nodes(tree: HtmlElement) -> int:
    return int(_NODES(tree))


def _clean_text(text: str, title: str | None) -> str:
    # NFC so that the dedup fingerprint does not depend on how the site composed accents.
    text = unicodedata.normalize("NFC", text)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    # The headline is the title field; repeated as the first paragraph it is not body text
    # (dropping it raised corpus F1 from 0.9512 to 0.9533).
    if lines and title is not None and lines[0] == unicodedata.normalize("NFC", title):
        del lines[0]
    return "\n".join(lines)


def _has_words(text: str, count: int) -> bool:
    """Whether `text` has at least `count` words: read up to the `count`th, not all of them
    (counting every word of the corpus's texts took 1% of a worker's time)."""
    return next(itertools.islice(_WORD.finditer(text), count - 1, None), None) is not None


def _clean_field(value: str | None) -> str | None:
    if value is None:
        return None
    return " ".join(value.split()) or None


class _PageTags(NamedTuple):
    """The page's <meta>, <link href rel> and <base href> elements, in document order: what
    its declared language and canonical URL are read from, found in one search of the tree
    (a search apiece cost 0.4 ms a corpus page more)."""

    metas: list[HtmlElement]
    links: list[HtmlElement]
    bases: list[HtmlElement]


def _page_tags(tree: HtmlElement) -> _PageTags:
    tags = _PageTags([], [], [])
    for element in tree.getroottree().getroot().iter("meta", "link", "base"):
        if element.tag == "meta":
            tags.metas.append(element)
        elif element.get("href") is None:
            continue
        elif element.tag == "base":
            tags.bases.append(element)
        elif element.get("rel") is not None:
            tags.links.append(element)
    return tags


# --- language ---------------------------------------------------------------------------


def _declared_language(tree: HtmlElement, tags: _PageTags) -> str | None:
    root = tree.getroottree().getroot()
    candidates = [root.get("lang"), root.get("xml:lang")]
    metas = tags.metas
    candidates += [
        meta.get("content")
        for meta in metas
        if (meta.get("http-equiv") or "").strip().lower() == "content-language"
    ]
    candidates += [
        meta.get("content")
        for meta in metas
        if "og:locale" in (meta.get("property"), meta.get("name"))
    ]
    for value in candidates:
        lang = language_code(value)
        if lang is not None:
            return lang
    return None


def _detect_language(text: str) -> str | None:
    from crawler.extract.language_data import IDENTIFIER  # 0.8 s, 100 MB: when a page needs it

    lang, confidence = IDENTIFIER.classify(text[:_LANGID_SAMPLE_CHARS])
    if confidence < _MIN_LANGID_CONFIDENCE:
        return None
    return language_code(lang)  # py3langid says "ary", "yue", "zxx" for some texts


# --- canonical URL ----------------------------------------------------------------------


def _canonical_url(tags: _PageTags, page_url: str) -> str | None:
    base_href = tags.bases[0].get("href") if tags.bases else None
    base = _absolute_http(base_href, page_url) if base_href is not None else None
    base = base or page_url
    hrefs = [
        link.get("href", "")
        for link in tags.links
        if "canonical" in link.get("rel", "").lower().split()
    ]
    hrefs += [
        content
        for meta in tags.metas
        if "og:url" in (meta.get("property"), meta.get("name"))
        and (content := meta.get("content")) is not None
    ]
    page_host = _host(page_url)
    for href in hrefs:
        url = _absolute_http(str(href), base)
        if url is not None and _same_site(_host(url), page_host) and _canonical_form(url):
            return url
    return None


def _canonical_form(url: str) -> bool:
    # The extract pipeline canonicalizes the URL it returns: a host it refuses ("a b.x.com"
    # passes the same-site test) must not get that far.
    try:
        canonicalize(url)
    except ValueError:
        return False
    return True


def _absolute_http(href: str, base: str) -> str | None:
    href = href.strip()
    if not href:
        return None
    try:
        url = urljoin(base, repair_url(href))
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _same_site(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if a == b:
        return True
    shorter, longer = sorted((a, b), key=len)
    # A dotless parent ("com", "localhost") is not a site another host can belong to.
    return "." in shorter and longer.endswith("." + shorter)


# --- publication date -------------------------------------------------------------------


# The order of trust (docs/how-it-works.md): the page's own metadata, then the feed's
# or sitemap's date, then a date found only in the text. htmldate's non-extensive search is
# the first: meta tags, JSON-LD, the URL, <time datetime>, <abbr>, elements marked as dates,
# timestamps; its extensive search reads the free text and ends in guesses (the copyright
# year, any year: both become 1 January), so it runs only when the other two gave nothing.


def _page_date_params(now: datetime) -> dict[str, object]:
    return {
        "original_date": True,  # publication, not last modification
        "extensive_search": False,
        # The page's own meta and JSON-LD often have the time; a date in the URL never.
        "deferred_url_extractor": True,
        "max_date": (now + _DATE_SEARCH_HORIZON).date().isoformat(),
        "outputformat": "%Y-%m-%dT%H:%M:%S%z",  # keeps the time when the page has one
    }


def _text_date(html: str, page_url: str, now: datetime) -> datetime | None:
    """A date found only in the page's text, when neither its metadata nor the feed had one.

    Never a bare year or month: htmldate gives a year alone ("© 2025", "bis Ende 2025") as
    1 January and a month alone ("März 2024", or what is left of a rejected "2024-03-12") as
    its 1st, so a date on the 1st from the text is dropped. A page dated on a 1st only in its
    running text loses its date: no date is better than a guessed day.
    """
    try:
        found = htmldate.find_date(
            html,
            url=page_url,
            extensive_search=True,
            original_date=True,
            # A future date in the text is a deadline or an event, never the publication.
            max_date=(now + DAY_DATE_TOLERANCE).date().isoformat(),
        )
    except Exception:
        # Third-party code on hostile input: the page keeps no date, the crawl goes on.
        logger.warning("htmldate failed on %s", page_url, exc_info=True)
        return None
    if not found:
        return None
    try:
        day = date.fromisoformat(found)
    except ValueError:
        return None
    if day.day == 1:
        return None
    return min(datetime.combine(day, time(), UTC), now)


@dataclass(frozen=True)
class _PageDate:
    value: datetime  # aware UTC; midnight UTC when only the day is known
    has_time: bool


def _parse_page_date(value: str | None) -> _PageDate | None:
    if not value:
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            day = datetime.strptime(value[:10], "%Y-%m-%d").date()
        except ValueError:
            return None
        # No offset: the time is in an unknown zone, so only the day is reliable.
        return _PageDate(datetime.combine(day, time(), UTC), has_time=False)
    return _PageDate(parsed.astimezone(UTC), has_time=True)


def _choose_published(
    page: _PageDate | None, feed_published: datetime | None, now: datetime
) -> datetime | None:
    feed = _as_utc(feed_published) if feed_published is not None else None
    if feed is not None and feed > now + CLOCK_SKEW:
        feed = None
    if page is not None:
        if page.has_time:
            if page.value <= now + CLOCK_SKEW:
                return min(page.value, now)
        elif page.value.date() <= (now + DAY_DATE_TOLERANCE).date():
            # The feed timestamp has the time of day the page's date lacks.
            if feed is not None and page.value.date() in _calendar_days(feed_published):
                return min(feed, now)
            return min(page.value, now)
    return min(feed, now) if feed is not None else None


def _calendar_days(moment: datetime | None) -> set[date]:
    # The page's day is in the site's zone; the feed's may be given in UTC or in that zone.
    if moment is None:
        return set()
    return {moment.date(), _as_utc(moment).date()}


def _as_utc(moment: datetime) -> datetime:
    # Naive datetimes in this project are UTC by convention (see crawler.items.Article).
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
