"""The original of each stored group of copies is its earliest-published article (issue 14).

Until now `duplicate_of` pointed at the first-fetched article of a group; the store now makes
an earlier-published copy the original when it arrives (`pipelines.store.insert_article`).
Groups stored before that are re-pointed here the same way: the copy published first (the
earliest `published`, then the lowest id, the first fetched) becomes the original when it was
published strictly before the current one; the old original and its other copies point at it.
A group whose original has no date keeps it, as the store does. Stories are unchanged: copies
share their original's story already. The near-duplicate index is rebuilt from the store when
a process starts, so it follows. Downgrade leaves the groups as they are.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    articles = sa.table(
        "articles", sa.column("id"), sa.column("published"), sa.column("duplicate_of")
    )
    original = articles.alias("original")
    earlier = connection.execute(
        sa.select(articles.c.id, articles.c.published, articles.c.duplicate_of)
        .join(original, original.c.id == articles.c.duplicate_of)
        .where(articles.c.published < original.c.published)
    ).all()
    first: dict[int, tuple[object, int]] = {}  # old original -> (published, id) of the new
    for row in earlier:
        candidate = (row.published, row.id)
        if row.duplicate_of not in first or candidate < first[row.duplicate_of]:
            first[row.duplicate_of] = candidate
    for old, (_, new) in first.items():
        connection.execute(
            sa.update(articles)
            .where(
                sa.or_(articles.c.id == old, articles.c.duplicate_of == old), articles.c.id != new
            )
            .values(duplicate_of=new)
        )
        connection.execute(
            sa.update(articles).where(articles.c.id == new).values(duplicate_of=None)
        )


def downgrade() -> None:
    pass
