"""The entry's author kept with an owed link (issue 15, throughput).

A feed entry that names its title, date and author makes reading the page's own metadata
unnecessary (`entry_metadata`, crawler/extract/page.py): the page would only repeat them. A
link retried at a later pass is requested from its owed row, without its feed, so the row
keeps the entry's author beside its title and date, and the retry is extracted as the first
attempt would have been.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: added in place on both SQLite and PostgreSQL.
    op.add_column("owed_links", sa.Column("author", sa.Text))


def downgrade() -> None:
    op.drop_column("owed_links", "author")
