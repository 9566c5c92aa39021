"""Rules about text and addresses, one each: URL canonicalization, accent and case folding,
language codes. Pure functions: no Scrapy, no database, no I/O.
"""
