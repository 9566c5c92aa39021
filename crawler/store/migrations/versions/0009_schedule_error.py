"""Why `newsmon run` could not compute a source's next run.

`newsmon run` never lets a schedule stop a source: when computing the next run fails, it
falls back to the default interval and keeps the error here (cleared by the next run
computed normally), so `newsmon sources status` and the dashboard flag the source.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("schedule_error", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("schedule_error")
