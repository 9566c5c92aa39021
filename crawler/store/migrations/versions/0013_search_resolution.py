"""How the new entries of a search feed's last pass reached the publisher's article (issue 19).

A Google News or Bing News entry leads to the search engine; the feeds spider resolves it to
the publisher's article (offline, through the publisher's sitemap or feed, or Google's
endpoint) or keeps it headline-only. The counts of the last pass that read the feed, as JSON
(`{"decoded": 3, "sitemap": 2, "headline-only: no publisher named": 1}`), are kept here for
`newsmon sources status`; null for sources whose entries are ordinary links.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("last_resolution", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("last_resolution")
