"""Parsers of source documents (feeds, sitemaps, listing pages, OPML) and the discovery and
onboarding of new sources. Pure parsing: no Scrapy, no database.
"""
