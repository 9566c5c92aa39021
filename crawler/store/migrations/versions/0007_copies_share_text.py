"""A verbatim copy at another outlet is a row of its own: the text fingerprint is no longer
unique.

The same words under another URL of the same outlet stay one article (print and AMP versions,
tracking variants: `seen_urls`), but a wire story that another outlet runs word for word is a
copy with its own URL and source (`duplicate_of`), like any near copy, so that stories count
every outlet that ran them. The fingerprint keeps a plain index for the lookup.

SQLite cannot drop a constraint: batch mode copies the table, which drops the triggers of the
FTS5 search table (0003); they are created again. The search index itself stays valid: the
copy keeps every id. On a large store this copy takes a while once (about a minute per
million articles). SQLite also gets the indexes in list order that PostgreSQL got in 0006,
partial here: originals only.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# SQLite's unique constraint has no name: batch mode names it by this convention.
_NAMED = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _search_triggers() -> list[str]:
    return importlib.import_module(
        "crawler.store.migrations.versions.0003_reviews_and_search"
    ).SQLITE_SEARCH_TRIGGERS


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("articles", recreate="always", naming_convention=_NAMED) as batch:
            batch.drop_constraint("uq_articles_fingerprint", type_="unique")
        for statement in _search_triggers():
            op.execute(statement)
        # Lists leave copies out: these indexes walk originals only, in list order, without
        # reading each row (past its long text) to see whether it is a copy.
        for column in ("published", "fetched_at"):
            op.execute(
                f"CREATE INDEX ix_articles_{column}_listed ON articles ({column}) "
                "WHERE duplicate_of IS NULL"
            )
    else:
        op.drop_constraint("articles_fingerprint_key", "articles", type_="unique")
    op.create_index("ix_articles_fingerprint", "articles", ["fingerprint"])


def downgrade() -> None:
    # Fails if copies share a fingerprint: delete them first.
    op.drop_index("ix_articles_fingerprint", table_name="articles")
    if op.get_bind().dialect.name == "sqlite":
        for column in ("published", "fetched_at"):
            op.execute(f"DROP INDEX ix_articles_{column}_listed")
        with op.batch_alter_table("articles", recreate="always") as batch:
            batch.create_unique_constraint("uq_articles_fingerprint", ["fingerprint"])
        for statement in _search_triggers():
            op.execute(statement)
    else:
        op.create_unique_constraint("articles_fingerprint_key", "articles", ["fingerprint"])
