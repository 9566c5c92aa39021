"""The store: schema, migrations, opening a database, and every query the crawl and the review
make of it (crawl state, owed links, search, reviews, re-tagging).
"""
