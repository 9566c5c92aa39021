"""Scheduler state on sources (interval, next run, last new article, passes) and an index for
per-source article counts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("interval", sa.Float))
        batch.add_column(sa.Column("next_run_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("last_new_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("passes", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_articles_source_fetched_at", "articles", ["source", "fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_articles_source_fetched_at", "articles")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("passes")
        batch.drop_column("last_new_at")
        batch.drop_column("next_run_at")
        batch.drop_column("interval")
