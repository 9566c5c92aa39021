"""A link to an article, as a source document gives it: the unit every parser of `crawler.sources`
hands to the spiders (feed entries, sitemap URLs, listing-page links alike)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["ArticleLink"]


@dataclass(frozen=True)
class ArticleLink:
    link: str  # absolute http(s) URL, resolved against xml:base / Content-Location / the source
    title: str | None  # plain text, whitespace collapsed
    published: datetime | None  # UTC; the entry's published date, else its updated date
    summary: str | None  # plain text, whitespace collapsed
    entry_id: str | None  # guid / atom:id / JSON Feed id, as given
    # The outlet the entry names, when it is not the feed's own (a news search feed):
    # RSS <source url="https://publisher/">Publisher</source>, Bing's <News:Source>.
    publisher: str | None = None
    publisher_url: str | None = None  # absolute http(s), the <source> element's url
    via: str | None = None  # the search engine's link that led to `link`, kept as an alias
    # The entry's author names ("; " between two), plain text: RSS <author> or <dc:creator>,
    # Atom <author><name>, JSON Feed `authors`. An e-mail address alone is no name.
    author: str | None = None
