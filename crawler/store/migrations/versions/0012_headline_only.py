"""Headline-only articles (issue 19): where an article's text comes from, and the entry's
summary kept with an owed link.

A page that yields no article text (a paywall, a consent wall, a page drawn by JavaScript)
but whose feed or sitemap entry has a title is stored as a headline-only article: the entry's
title, its summary as text, `text_source` "feed". Every article stored before is "page". The
entry's summary is owed with its link, so a retry at the next pass can still fall back on it;
the outlet an entry names (a search feed's `<source>`) is kept as `publisher`.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant server default: SQLite adds the column in place (no copy of the table and
    # its search triggers), PostgreSQL fills existing rows with it.
    op.add_column(
        "articles",
        sa.Column("text_source", sa.String(8), nullable=False, server_default="page"),
    )
    op.add_column("articles", sa.Column("publisher", sa.Text))
    op.add_column("owed_links", sa.Column("summary", sa.Text))


def downgrade() -> None:
    # In place too (SQLite 3.35+ drops a column without copying the table).
    op.drop_column("owed_links", "summary")
    op.drop_column("articles", "publisher")
    op.drop_column("articles", "text_source")
