"""What extraction makes of a page (`crawler.extract.page.extract_article`).

A module of its own, importing nothing: the extraction workers send it back pickled, and
unpickling it in the crawl's process must not import trafilatura there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Extracted"]


@dataclass(frozen=True)
class Extracted:
    title: str | None
    author: str | None
    published: datetime | None  # aware UTC, never in the future
    language: str | None  # ISO 639-1, lowercase
    text: str  # main text, one paragraph per line
    canonical_url: str | None  # absolute http(s), same site as the page
    extractor: str  # e.g. "trafilatura 2.3.1", stored for re-extraction
