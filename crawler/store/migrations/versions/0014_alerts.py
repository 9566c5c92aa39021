"""Alerts sent, so that no alert is sent twice (issue 18).

`alert_deliveries` holds one row per (alert rule, article) once an attempt was made: sent
(`sent_at`), or failed with the attempts made, the last error and when to try again.
`alert_events` does the same for alerts about no single article: a topic's spike on a day, a
source turning FAILING or SILENT, keyed by a text that names the event
("spike nato 2026-12-03"). A row is written in the transaction that follows the send, so a
crash between the two sends at most one duplicate.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _attempt_columns() -> list[sa.Column]:
    return [
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    ]


def upgrade() -> None:
    op.create_table(
        "alert_deliveries",
        sa.Column("rule", sa.String(200), primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        ),
        *_attempt_columns(),
    )
    op.create_table(
        "alert_events",
        sa.Column("rule", sa.String(200), primary_key=True),
        sa.Column("event", sa.String(500), primary_key=True),
        *_attempt_columns(),
    )


def downgrade() -> None:
    op.drop_table("alert_events")
    op.drop_table("alert_deliveries")
