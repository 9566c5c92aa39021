"""The Alembic migrations build exactly the schema that `crawler.schema` describes, on SQLite
and PostgreSQL, and opening a database twice migrates nothing twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from crawler.database import migrate
from crawler.schema import SEARCH_TABLES, metadata


def assert_matches_schema(url: str) -> None:
    engine = create_engine(url)
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as connection:
        # SQLite's FTS5 search table and its shadow tables are not in the metadata.
        context = MigrationContext.configure(connection, opts={"include_name": lambda name, kind,
            _: not (kind == "table" and name in SEARCH_TABLES)})  # fmt: skip
        assert context.get_current_revision() == "0004"
        differences = compare_metadata(context, metadata)
    assert differences == [], differences
    assert set(inspect(engine).get_table_names()) >= {"articles", "article_urls",
                                                       "article_topics", "sources"}  # fmt: skip
    engine.dispose()


# The GIN search index is PostgreSQL's alone; Alembic cannot compare it on SQLite, and says so.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrations_sqlite(tmp_path: Path) -> None:
    assert_matches_schema(f"sqlite:///{tmp_path / 'db.sqlite'}")


def test_migrations_postgresql(postgres_url: str) -> None:
    assert_matches_schema(postgres_url)
