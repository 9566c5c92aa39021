"""Headline-only articles: which pages without article text still make an article, and the
text such an article is keyed by. Pure: no Scrapy, no I/O, no trafilatura.

spider → **extract** → dedup → tag → story → store. A page that yields no article text (fewer
than `MIN_TEXT_WORDS`, `crawler.extract.page`) is a paywall, a consent wall or a page drawn by
JavaScript when it is an article page, and navigation otherwise. When its feed or sitemap
entry has a title, an article page becomes a headline-only article (`text_source` "feed"):
the entry's title, its summary as text. The rule, in order (docs/how-it-works.md):

1. the link or the page it led to is a home page (a redirect home is a soft 404): dropped;
2. the page says it is an article: `og:type` article, an `article:published_time` meta, JSON-LD
   of an article type, or a paywall marker (`isAccessibleForFree` false, `article:content_tier`
   locked or metered): kept;
3. the link is a section, tag, topic, author, search, pagination or service page (`/tag/ai/`,
   `/subscribe`): dropped;
4. the page has exactly one `<article>` element (listings have many), or the link looks like
   an article's by the rule listing pages use (`crawler.text.article_urls`: a slug of three
   words or more, a date followed by more path, an id of five digits or more, `?p=123`): kept;
5. anything else: dropped, as before.

Non-HTML links (PDFs) and error statuses never get this far (`crawler.spiders.base`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lxml.html import HtmlElement

from crawler.text.article_urls import NOT_ARTICLE_SEGMENTS, looks_like_article
from crawler.text.urls import is_home_page

__all__ = ["Headline", "article_page", "headline_text", "home_page", "section_page"]

# schema.org's Article and its news subtypes: what publishers mark an article page with.
ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "reviewnewsarticle",
        "askpublicnewsarticle",
        "blogposting",
        "liveblogposting",
        "report",
        "scholarlyarticle",
        "techarticle",
    }
)
# Home pages under another name: /index.html, /en/, /fr/index.php.
_HOME_SEGMENT = re.compile(r"(index|default|home)(\.\w+)?|[a-z]{2}(-[a-z]{2})?", re.IGNORECASE)
_PAYWALL_TIERS = frozenset({"locked", "metered"})


@dataclass(frozen=True)
class Headline:
    """What an entry offers when its page gives no text: sent with the page to extraction."""

    link_url: str  # the entry's link, canonical: the URL the rule above reads
    title: str
    summary: str | None

    @property
    def text(self) -> str:
        return headline_text(self.title, self.summary)


def headline_text(title: str | None, summary: str | None) -> str:
    """What a headline-only article is keyed by (fingerprint, near-duplicate signature): its
    title and summary on one line. The title is part of it: two entries of one outlet with the
    same boilerplate summary ("Subscribe to read the full story") are two articles."""
    return " ".join(" ".join(part.split()) for part in (title, summary) if part and part.strip())


def article_page(tree: HtmlElement, link_url: str, page_url: str) -> bool:
    """Whether a page without article text is an article page (the rule in the docstring)."""
    if home_page(link_url) or home_page(page_url):
        return False
    if _declares_article(tree):
        return True
    if section_page(link_url):
        return False
    return len(tree.xpath("//article")) == 1 or looks_like_article(link_url)


def home_page(url: str) -> bool:
    """A site's home page: no path, or only /index.html or a language code (/en/), no query."""
    if is_home_page(url):
        return True
    parts = _split(url)
    if parts is None or parts.query:
        return False
    segments = _segments(parts.path)
    return len(segments) <= 2 and all(_HOME_SEGMENT.fullmatch(segment) for segment in segments)


def section_page(url: str) -> bool:
    """A page listing articles (section, tag, topic, author, search, pagination) or a service
    page (subscribe, login, privacy): a path segment says so (`crawler.text.article_urls`)."""
    parts = _split(url)
    if parts is None:
        return False
    return any(
        segment.lower() in NOT_ARTICLE_SEGMENTS for segment in _segments(unquote(parts.path))
    )


def _declares_article(tree: HtmlElement) -> bool:
    for meta in tree.iter("meta"):
        name = (meta.get("property") or meta.get("name") or "").strip().lower()
        content = (meta.get("content") or "").strip().lower()
        if name == "og:type" and content.startswith("article"):
            return True
        if name == "article:published_time" and content:
            return True
        if name == "article:content_tier" and content in _PAYWALL_TIERS:
            return True
    for script in tree.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for node in _nodes(data):
            if _types(node) & ARTICLE_TYPES:
                return True
            if str(node.get("isAccessibleForFree", "")).strip().lower() == "false":
                return True
    return False


def _nodes(data: object) -> Iterator[dict]:
    """Every JSON object in a JSON-LD document (graphs, lists, nested values)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            yield value
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def _types(node: dict) -> set[str]:
    declared = node.get("@type")
    values = declared if isinstance(declared, list) else [declared]
    return {value.rsplit("/", 1)[-1].lower() for value in values if isinstance(value, str)}


def _split(url: str):
    try:
        return urlsplit(url)
    except ValueError:
        return None


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]
