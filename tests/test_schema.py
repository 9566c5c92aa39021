"""The Alembic migrations build exactly the schema that `crawler.schema` describes, on SQLite
and PostgreSQL, and opening a database twice migrates nothing twice."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from crawler.database import migrate
from crawler.schema import metadata


def assert_matches_schema(url: str) -> None:
    engine = create_engine(url)
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == "0002"
        differences = compare_metadata(context, metadata)
    assert differences == [], differences
    assert set(inspect(engine).get_table_names()) >= {"articles", "article_urls",
                                                       "article_topics", "sources"}  # fmt: skip
    engine.dispose()


def test_migrations_sqlite(tmp_path: Path) -> None:
    assert_matches_schema(f"sqlite:///{tmp_path / 'db.sqlite'}")


def test_migrations_postgresql(postgres_url: str) -> None:
    assert_matches_schema(postgres_url)
