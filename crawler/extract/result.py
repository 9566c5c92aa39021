"""What extraction makes of a page (`crawler.extract.page.extract_article`).

A module of its own, importing nothing: the extraction workers send it back pickled, and
unpickling it in the crawl's process must not import trafilatura there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Byline", "Extracted"]


@dataclass(frozen=True)
class Extracted:
    title: str | None
    author: str | None
    published: datetime | None  # aware UTC, never in the future
    language: str | None  # ISO 639-1, lowercase
    text: str  # main text, one paragraph per line
    canonical_url: str | None  # absolute http(s), same site as the page
    extractor: str  # e.g. "trafilatura 2.3.1", stored for re-extraction


@dataclass(frozen=True)
class Byline:
    """What a feed entry says of its article besides the link: its title and author names
    (its date travels as `feed_published`). With a title, an author and a date, reading the
    page's own metadata would only repeat them (crawler/extract/page.py): they stand for it
    unless `stands_for_page` is false (`entry_metadata: false`). An article without a page
    has the entry's author either way."""

    title: str | None
    author: str | None
    stands_for_page: bool = True
