"""The index of copies covers copies only.

A partial index (`WHERE duplicate_of IS NOT NULL`) still serves the lookups of an article's
copies (`duplicate_of = ?`), and no longer tempts SQLite's planner, which has no statistics,
into reading every original through it for `duplicate_of IS NULL` instead of walking the
sort index of a hits page.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COPY = sa.text("duplicate_of IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_articles_duplicate_of", table_name="articles")
    op.create_index(
        "ix_articles_duplicate_of",
        "articles",
        ["duplicate_of"],
        sqlite_where=_COPY,
        postgresql_where=_COPY,
    )


def downgrade() -> None:
    op.drop_index("ix_articles_duplicate_of", table_name="articles")
    op.create_index("ix_articles_duplicate_of", "articles", ["duplicate_of"])
