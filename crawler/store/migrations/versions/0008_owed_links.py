"""Links owed to the next pass, per-pass article failures, and "poll now" requests.

A link is done only when its article is stored or deliberately dropped (not an article, a
copy, a 404, a refused address...). Until then it is a row of `owed_links`: a download that
timed out, a worker that died, a store that was full leave it there, with its attempts, the
last error and when to try again, so the next pass fetches it even when the feed did not
change. After a bounded number of attempts the link is given up (`gave_up_at`) with its
reason, and shown as such. A link dropped on purpose keeps a row (`dropped_at`, the reason in
`last_error`) so that its feed listing it again does not fetch it again.

`sources.last_failed` and `last_failure` say how many articles of the last pass failed and
why (a pass with failed articles is degraded, not ok); `poll_requested_at` is set by
`newsmon sources poll` or the dashboard and honoured by a running `newsmon run`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "owed_links",
        sa.Column("url", sa.Text, primary_key=True),
        sa.Column("source", sa.String(200), nullable=False, index=True),
        sa.Column("title", sa.Text),
        sa.Column("published", sa.DateTime(timezone=True)),
        sa.Column("language", sa.String(8)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("gave_up_at", sa.DateTime(timezone=True)),
        sa.Column("dropped_at", sa.DateTime(timezone=True)),
    )
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("last_failed", sa.Integer))
        batch.add_column(sa.Column("last_failure", sa.Text))
        batch.add_column(sa.Column("poll_requested_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("poll_requested_at")
        batch.drop_column("last_failure")
        batch.drop_column("last_failed")
    op.drop_table("owed_links")
