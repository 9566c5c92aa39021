"""Per-host politeness shared by the crawl processes of the distributed mode (issue 16).

`host_permits` holds one row per request in flight to a host, in one of the host's numbered
places (`slot` from 0 to the per-host limit - 1), leased to a process until `expires_at`;
`host_pace` holds, per host, the earliest time the next request may start. PostgreSQL only:
the distributed mode needs it, and a single process (SQLite included) keeps its limits in
memory (crawler/middlewares.py).

Both tables are UNLOGGED: what they hold lives for seconds, so it is not worth a write to the
write-ahead log and its flush at each commit (half of a permit's cost, bench/host_limits.py).
A crash of PostgreSQL empties them, and a standby does not have them: after a crash or a
failover every host's places are free and its pace starts afresh, so a host may get up to
its limit of extra requests, once, while those in flight before finish.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.create_table(
        "host_permits",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        prefixes=["UNLOGGED"],
    )
    op.create_table(
        "host_pace",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("next_start_at", sa.DateTime(timezone=True), nullable=False),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.drop_table("host_pace")
    op.drop_table("host_permits")
