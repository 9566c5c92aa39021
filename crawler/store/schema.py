"""Tables of the store, as SQLAlchemy Core metadata.

The schema itself is created and upgraded only by the Alembic migrations in
`crawler/store/migrations/`; this module describes the current shape for queries, and a test checks
that the migrations produce exactly it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
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
    false,
    literal_column,
)

__all__ = [
    "ENGINE_SPECIFIC",
    "alert_deliveries",
    "alert_events",
    "SEARCH_VECTOR",
    "article_topics",
    "article_urls",
    "article_versions",
    "articles",
    "config_versions",
    "host_pace",
    "host_permits",
    "metadata",
    "owed_links",
    "postgresql_metadata",
    "reviews",
    "sources",
    "workers",
]

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
    # Articles of the last pass that failed (download, extraction or storage) and why (0008):
    # such a pass is degraded, not ok. Set by `sources poll` or the dashboard: poll now.
    Column("last_failed", Integer),
    Column("last_failure", Text),
    Column("poll_requested_at", DateTime(timezone=True)),
    # Why `newsmon run` could not compute the next run (0009): it fell back to the default
    # interval. Cleared when a next run is computed normally.
    Column("schedule_error", Text),
    # Search feeds (0013): how the last read pass's new entries reached the publisher's
    # article, or why they stayed headline-only, as JSON counts; null for other sources.
    Column("last_resolution", Text),
    # The distributed mode (0015): the `newsmon worker` that ran the last pass.
    Column("last_worker", String(200)),
)

# Links owed to the next pass (0008): seen in a source, neither stored nor deliberately dropped
# yet. A row lives from the moment its page is requested until its article is stored (in the
# same transaction) or dropped on purpose (`dropped_at`); a fault leaves it, with the attempts
# made, the last error and when to try again. `gave_up_at` is set after the last attempt.
owed_links = Table(
    "owed_links",
    metadata,
    Column("url", Text, primary_key=True),  # canonical URL
    Column("source", String(200), nullable=False, index=True),
    Column("title", Text),  # the entry's title and date, to request the link without its feed
    Column("published", DateTime(timezone=True)),
    Column("language", String(8)),
    Column("summary", Text),  # the entry's, for a headline-only article (0012)
    Column("author", Text),  # the entry's, standing for the page's with its title and date (0017)
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("last_error", Text),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("gave_up_at", DateTime(timezone=True)),
    # Dropped on purpose (`last_error` says why: HTTP 404, not an article...): done, and never
    # requested again when its feed lists it again.
    Column("dropped_at", DateTime(timezone=True)),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),  # canonical URL
    # Hash of the normalized text: one article per outlet, verbatim copies elsewhere (0007).
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("source", String(200), nullable=False),
    Column("title", Text),
    Column("author", Text),
    Column("published", DateTime(timezone=True)),
    Column("fetched_at", DateTime(timezone=True), nullable=False, index=True),
    Column("language", String(8)),
    Column("text", Text, nullable=False),
    Column("html", LargeBinary),  # gzip-compressed page, when `keep_html` is on
    Column("extractor", String(100)),  # what produced `text`, to re-extract when it improves
    Column("duplicate_of", Integer, ForeignKey("articles.id")),
    Index("ix_articles_source_fetched_at", "source", "fetched_at"),
    # Near-duplicate signature (crawler/match/near_duplicates.py), kept so the index is rebuilt at
    # start-up.
    Column("signature", LargeBinary),
    Column("story_id", Integer, index=True),  # the story cluster: id of its first article
    Column("updated_at", DateTime(timezone=True)),  # the text last changed (a developing story)
    Column("checked_at", DateTime(timezone=True)),  # the page was last fetched to look for that
    # Where `text` comes from (0012): "page", extracted from the page; "feed", a headline-only
    # article whose page gave no text (a paywall, a consent wall): the entry's summary. A later
    # fetch that gets the page's text upgrades it in place.
    Column("text_source", String(8), nullable=False, default="page", server_default="page"),
    Column("publisher", Text),  # the outlet the entry named (a search feed's <source>), if any
)

# Every URL that led to an article, the canonical one included: the "already stored?" lookup.
article_urls = Table(
    "article_urls",
    metadata,
    Column("url", Text, primary_key=True),
    Column(
        "article_id",
        Integer,
        ForeignKey("articles.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)

article_topics = Table(
    "article_topics",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("topic", String(200), primary_key=True, index=True),
    Column("terms", JSON, nullable=False),  # the terms that matched, as written in topics.yaml
)

# Review decisions (issue 6): one row per reviewed article, never touched by re-tagging, so a
# decision survives a change of topics. Starring is orthogonal to the verdict, as in feed
# readers: an irrelevant article may still be worth keeping at hand.
reviews = Table(
    "reviews",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("verdict", String(20)),  # relevant, irrelevant, or null (starred or noted only)
    Column("starred", Boolean, nullable=False, default=False, server_default=false()),
    Column("note", Text),
    Column("reviewed_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("verdict IN ('relevant', 'irrelevant')", name="ck_reviews_verdict"),
)

# The hits page sorts by publication date.
Index("ix_articles_published", articles.c.published)
# The copies of an article. Partial: listings ask for `duplicate_of IS NULL` (almost every
# row), and without statistics SQLite took a full index on it for selective, scanned every
# article and sorted them (a filtered hits page over 100,000 articles: 90 ms instead of 4).
_COPY = articles.c.duplicate_of.is_not(None)
Index(
    "ix_articles_duplicate_of", articles.c.duplicate_of, sqlite_where=_COPY, postgresql_where=_COPY
)

# Objects that the migrations create on one engine only, which `metadata` does not describe (a
# test leaves them out when it compares; tests/test_host_limits.py compares the shared
# limits' tables, in `postgresql_metadata`). Full-text search: on PostgreSQL the stored generated
# column `search_vector`, `to_tsvector('simple', title || ' ' || text)`, with a GIN index
# (migration 0006; the `simple` configuration lowercases and stems nothing, so every language
# is searched alike); on SQLite the FTS5 table `articles_fts`, its shadow tables and triggers
# (0003). Indexes in list order on published and fetched_at: on PostgreSQL `(published DESC
# NULLS LAST, id DESC)` (0006), on SQLite `(published) WHERE duplicate_of IS NULL` (0007).
SEARCH_VECTOR = literal_column("articles.search_vector")
ENGINE_SPECIFIC = (
    "search_vector",
    "ix_articles_search_vector",
    "ix_articles_published_listed",
    "ix_articles_fetched_at_listed",
    "articles_fts",
    "articles_fts_data",
    "articles_fts_idx",
    "articles_fts_docsize",
    "articles_fts_config",
    # The shared per-host limits of the distributed mode (0015): PostgreSQL only.
    "host_permits",
    "host_pace",
)

# Earlier texts of articles whose page changed (corrections, developing stories).
article_versions = Table(
    "article_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "article_id",
        Integer,
        ForeignKey("articles.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("title", Text),
    Column("text", Text, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False),  # when this text was current
    Column("replaced_at", DateTime(timezone=True), nullable=False),
    Column("change", Text, nullable=False),  # what the next version changed, for people
)


def _attempt_columns() -> list[Column]:
    """An alert's attempts: sent, or failed with the attempts made, the last error and when
    to try again (new Column objects for each table)."""
    return [
        Column("sent_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, default=0, server_default="0"),
        Column("last_error", Text),
        Column("next_attempt_at", DateTime(timezone=True)),
    ]


# Alerts sent (0014): one row per (alert rule, article) once an attempt was made, sent or
# failed with when to try again; the key makes a second send of the same alert impossible.
# A row is written in the transaction that follows the send (crawler/alerts/deliver.py).
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("rule", String(200), primary_key=True),
    Column(
        "article_id",
        Integer,
        ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    *_attempt_columns(),
)

# The same for alerts about no single article (0014): a topic's spike on a day, a source turning
# FAILING or SILENT, keyed by a text naming the event ("spike nato 2026-12-03").
alert_events = Table(
    "alert_events",
    metadata,
    Column("rule", String(200), primary_key=True),
    Column("event", String(500), primary_key=True),
    *_attempt_columns(),
)

# The distributed mode (0015). `workers`: each `newsmon worker` that ever ran, with its last
# heartbeat and the passes it is running (`newsmon workers`); a worker is live while its
# heartbeat is recent (crawler/store/workers.py).
workers = Table(
    "workers",
    metadata,
    Column("name", String(200), primary_key=True),  # host:pid unless named with --name
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("running", Text),  # JSON list of the source names of its passes under way
    Column("passes", Integer, nullable=False, default=0, server_default="0"),  # finished
    Column("stopped_at", DateTime(timezone=True)),  # a clean stop; a crash leaves it null
)

# The configuration that `newsmon schedule` runs, by the hash of its files' text: each pass it
# hands out names its version, and a worker on any host reads that version from here, so
# every worker crawls with the scheduler's sources, topics and settings (0015).
config_versions = Table(
    "config_versions",
    metadata,
    Column("version", String(64), primary_key=True),  # sha-256 of the files, hex
    Column("files", JSON, nullable=False),  # file name -> text
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Tables of PostgreSQL alone, described apart from `metadata` (which both engines have).
postgresql_metadata = MetaData()

# Per-host politeness shared by the processes of the distributed mode (0016, PostgreSQL only;
# crawler/store/host_limits.py). One row per request in flight to a host, in one of its places
# 0 .. limit - 1, leased to a process until `expires_at`, so a killed process blocks nothing
# for longer than its lease. Both tables are UNLOGGED (emptied by a crash of the server).
host_permits = Table(
    "host_permits",
    postgresql_metadata,
    Column("host", String(255), primary_key=True),
    Column("slot", Integer, primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# The earliest start of the next request to each host: `download_delay` over all processes.
host_pace = Table(
    "host_pace",
    postgresql_metadata,
    Column("host", String(255), primary_key=True),
    Column("next_start_at", DateTime(timezone=True), nullable=False),
)
