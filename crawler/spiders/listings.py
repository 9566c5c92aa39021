"""The `listings` spider: polls every enabled `kind: listing` source (a front or section page)
and yields an `Article` item for each article link not yet stored, following pagination up to
the source's `pages`.

Which links are articles (the source's `follow`/`deny` patterns, else a general heuristic that
leaves out navigation, tag, author and subscribe links) is decided in `crawler.sources.listings`.
"""

from __future__ import annotations

from collections.abc import Iterator

import scrapy
from scrapy.http import Response, TextResponse

from crawler.config.files import Source
from crawler.sources.links import ArticleLink
from crawler.sources.listings import article_links
from crawler.spiders.base import SourceSpider, page_text


class ListingsSpider(SourceSpider):
    name = "listings"
    kind = "listing"

    def parse_source(self, response: Response, source: Source) -> Iterator[scrapy.Request]:
        yield from self.parse_page(response, source, page=1)

    def parse_page(self, response: Response, source: Source, page: int) -> Iterator[scrapy.Request]:
        if not isinstance(response, TextResponse):
            message = f"not an HTML page: {response.url}"
            if page == 1:
                self.fail_source(source, message)
            else:
                self.problem(source, message)
            return
        limit = self.config_settings.max_listing_links
        found = article_links(
            page_text(response),
            response.url,
            source.follow,
            source.deny,
            list(source.allow_domains) or None,
            max_links=limit,
        )
        if found.truncated:
            self.problem(
                source,
                f"{response.url}: more than {limit} links, read the first "
                f"{limit} (max_listing_links)",
            )
        links = [
            # The anchor's text: the article's title as the listing shows it
            ArticleLink(url, found.titles.get(url), published=None, summary=None, entry_id=None)
            for url in found.links
        ]
        yield from self.follow_links(source, links)
        if found.next_page and page < source.pages:
            yield self.more_part(source, found.next_page, self.parse_page, page=page + 1)
