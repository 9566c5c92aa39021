"""The one item type of the flow: an article, filled stage by stage.

spider → extract → dedup → tag → story → store. Each stage fills only its own group of fields, so
reading an item tells how far it got. Scrapy handles dataclass items through itemadapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from scrapy.exceptions import DropItem

__all__ = ["Article", "ArticleFailed"]


@dataclass
class Article:
    # Filled by the spider: where the page came from and what was downloaded.
    source: str  # source name from sources.yaml
    url: str  # canonical form of the link that led here (feed entry link)
    link: str = ""  # that link, kept as is: the owed link (crawler.store.owed) this article settles
    recheck: bool = False  # a stored page fetched again to look for updates
    response_url: str = ""  # final URL after redirects
    html: str = field(default="", repr=False)  # decoded page (never in logs: it is huge)
    html_bytes: bytes = field(default=b"", repr=False)  # raw body, kept gzipped (`keep_html`)
    encoding: str = ""
    fetched_at: datetime | None = None  # UTC
    feed_title: str | None = None
    feed_published: datetime | None = None  # UTC, from the feed entry
    feed_author: str | None = None  # the entry's author names (crawler.sources.links)
    language_hint: str | None = None  # the source's `language`
    feed_summary: str | None = None  # the entry's summary or description, plain text
    publisher: str | None = None  # the outlet named by the entry (Google News <source>), if any
    text_source: str = "page"  # "page": extracted from the page; "feed": headline-only, from entry

    # Filled by the extract pipeline.
    title: str | None = None
    author: str | None = None
    # UTC; the page's metadata first, then the entry's, never future; the entry's alone when
    # it gave a title, a date and an author (`entry_metadata`, crawler/extract/page.py).
    published: datetime | None = None
    language: str | None = None  # ISO 639-1
    text: str = field(default="", repr=False)
    canonical_url: str | None = None  # the page's own canonical URL on the same site, canonicalized
    extractor: str = ""  # e.g. "trafilatura 2.3.1": stored with the page for re-extraction
    # The text's keys for the dedup pipeline, computed beside it (crawler/match/fingerprints.py).
    fingerprint: str = ""  # hash of the normalized text
    signature: bytes = field(default=b"", repr=False)  # near-duplicate signature (neardup.py)

    # Filled by the dedup pipeline.
    seen_urls: list[str] = field(default_factory=list)  # other URLs that led here
    # The original of the group of copies this one is a copy of (the store makes this article
    # the original instead when it was published earlier, see `replaced`).
    duplicate_of: int | None = None
    changed: bool = False  # an already stored page came back with materially changed text
    change: str = ""  # what changed, for people ("+120 words, -30 words")
    upgraded: bool = False  # a stored headline-only article whose page now gave its text

    # Filled by the tag pipeline: topic name -> terms that matched, as written in topics.yaml.
    matches: dict[str, list[str]] = field(default_factory=dict)

    # Filled by the story pipeline: the story cluster (id of its first article), if any yet,
    # and the terms it was looked up by (`crawler.match.stories.story_terms`), which the store
    # hands on to the story index instead of computing them a second time.
    story_id: int | None = None
    story_terms: tuple[frozenset[str], frozenset[str]] | None = field(default=None, repr=False)

    # Filled by the store pipeline.
    id: int | None = None
    replaced: int | None = None  # the original it took the place of, published later than it


class ArticleFailed(DropItem):
    """The article could not be handled now (a worker died, the store failed): unlike a plain
    `DropItem`, which drops a page on purpose, its link stays owed to the next pass."""
