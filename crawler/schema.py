"""Tables of the store, as SQLAlchemy Core metadata.

The schema itself is created and upgraded only by the Alembic migrations in
`crawler/migrations/`; this module describes the current shape for queries, and a test checks
that the migrations produce exactly it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    # Conditional-GET validators, saved only after a pass handled every entry of the feed.
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(64)),
    # The last fetch: ok, not_modified, unchanged or error.
    Column("last_fetch_at", DateTime(timezone=True)),
    Column("last_status", String(20)),
    Column("last_error", Text),
    Column("last_problem", Text),  # a recovered defect of the feed (malformed XML...)
    Column("last_success_at", DateTime(timezone=True)),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_entries", Integer),
    Column("last_new", Integer),
    # Kept by `newsmon run` so the schedule survives restarts.
    Column("interval", Float),  # seconds: the current (adaptive) interval
    Column("next_run_at", DateTime(timezone=True)),
    Column("last_new_at", DateTime(timezone=True)),  # the last pass that found a new entry
    Column("passes", Integer, nullable=False, default=0, server_default="0"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),  # canonical URL
    Column("fingerprint", String(64), nullable=False, unique=True),  # normalized-text hash
    Column("source", String(200), nullable=False),
    Column("title", Text),
    Column("author", Text),
    Column("published", DateTime(timezone=True)),
    Column("fetched_at", DateTime(timezone=True), nullable=False, index=True),
    Column("language", String(8)),
    Column("text", Text, nullable=False),
    Column("html", LargeBinary),  # gzip-compressed page, when `keep_html` is on
    Column("extractor", String(100)),  # what produced `text`, to re-extract when it improves
    Column("duplicate_of", Integer, ForeignKey("articles.id"), index=True),
    Index("ix_articles_source_fetched_at", "source", "fetched_at"),
)

# Every URL that led to an article, the canonical one included: the "already stored?" lookup.
article_urls = Table(
    "article_urls",
    metadata,
    Column("url", Text, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False,
           index=True),
)  # fmt: skip

article_topics = Table(
    "article_topics",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("topic", String(200), primary_key=True, index=True),
    Column("terms", JSON, nullable=False),  # the terms that matched, as written in topics.yaml
)
