"""The Alembic migrations build exactly the schema that `crawler.schema` describes, on SQLite
and PostgreSQL, and opening a database twice migrates nothing twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from crawler.database import MIGRATIONS, migrate
from crawler.schema import ENGINE_SPECIFIC, metadata

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def assert_matches_schema(url: str) -> None:
    engine = create_engine(url)
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as connection:
        # Objects of one engine (search tables and column, PostgreSQL's list-order indexes).
        context = MigrationContext.configure(connection, opts={"include_name": lambda name, kind,
            _: name not in ENGINE_SPECIFIC})  # fmt: skip
        assert context.get_current_revision() == HEAD
        differences = compare_metadata(context, metadata)
        # Alembic does not compare index predicates: the index of copies must be partial.
        definition = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_articles_duplicate_of'"
            if engine.dialect.name == "sqlite"
            else "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_articles_duplicate_of'"
        ).scalar_one()
        assert "duplicate_of IS NOT NULL" in definition
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
