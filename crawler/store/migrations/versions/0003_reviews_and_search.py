"""Review decisions and full-text search.

`reviews`: one row per reviewed article (verdict relevant/irrelevant, starred, note), apart
from `article_topics` so that re-tagging never loses a decision. An index on `published`
for the hits page. Full-text search over title and text:

- PostgreSQL: a GIN index on `to_tsvector('simple', coalesce(title, '') || ' ' || text)`;
  `simple` lowercases and stems nothing, so French, German and English are searched alike.
- SQLite: an FTS5 table `articles_fts` over the same columns (external content: it stores
  only the index, the text stays in `articles`), kept in sync by triggers. `unicode61
  remove_diacritics 2` folds case and accents. A later migration that rebuilds `articles`
  in batch mode (SQLite copies the table) drops these triggers: it must run
  `SQLITE_SEARCH_TRIGGERS` again (as 0007 does).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SQLITE_SEARCH_TABLE = (
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
)
SQLITE_SEARCH_TRIGGERS = [
    "CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
]
SQLITE_SEARCH = [
    SQLITE_SEARCH_TABLE,
    *SQLITE_SEARCH_TRIGGERS,
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",  # articles stored before
]
POSTGRES_SEARCH = (
    "CREATE INDEX ix_articles_search ON articles USING gin "
    "(to_tsvector('simple', coalesce(title, '') || ' ' || text))"
)


def create_sqlite_search() -> None:
    for statement in SQLITE_SEARCH:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("verdict", sa.String(20)),
        sa.Column("starred", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("note", sa.Text),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("verdict IN ('relevant', 'irrelevant')", name="ck_reviews_verdict"),
    )
    op.create_index("ix_articles_published", "articles", ["published"])
    if op.get_bind().dialect.name == "sqlite":
        create_sqlite_search()
    elif op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_SEARCH)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS articles_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_articles_search")
    op.drop_index("ix_articles_published", "articles")
    op.drop_table("reviews")
