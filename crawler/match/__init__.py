"""What an article matches: keyword topics, text fingerprints, near-duplicates and story clusters.
Pure logic: no Scrapy, no database, no I/O.
"""
