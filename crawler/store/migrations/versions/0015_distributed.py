"""The distributed mode (issue 16): workers and their heartbeats, the scheduler's config
versions, and which worker ran each source's last pass.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("running", sa.Text),
        sa.Column("passes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("stopped_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "config_versions",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("files", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("last_worker", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("last_worker")
    op.drop_table("config_versions")
    op.drop_table("workers")
