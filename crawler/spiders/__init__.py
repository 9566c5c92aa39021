"""The spiders, one per kind of source; `SPIDERS` maps a source's `kind` to its spider."""

from __future__ import annotations

from crawler.spiders.feeds import FeedsSpider
from crawler.spiders.listings import ListingsSpider
from crawler.spiders.sitemaps import SitemapsSpider

SPIDERS = {"feed": FeedsSpider, "sitemap": SitemapsSpider, "listing": ListingsSpider}
