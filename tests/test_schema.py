"""The Alembic migrations build exactly the schema that `crawler.schema` describes, on SQLite
and PostgreSQL, and opening a database twice migrates nothing twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect

from crawler.database import MIGRATIONS, _sqlite_pragmas, migrate
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
            else "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_articles_duplicate_of' "
            "AND schemaname = current_schema()"
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


def test_upgrade_keeps_articles_and_search(tmp_path: Path) -> None:
    """0007 copies SQLite's articles table: stored articles, their ids, URLs, topics and
    search index survive, the search triggers work again, and two rows may now share a
    fingerprint."""
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    event.listen(engine, "connect", _sqlite_pragmas)  # as engine_for: foreign keys on
    row = (
        "INSERT INTO articles (id, url, fingerprint, source, title, fetched_at, text) "
        "VALUES ({}, 'https://x.example/{}', 'f', '{}', 'Llama {}', '2026-11-27', 'text')"
    )
    migrate(engine, "0006")
    with engine.begin() as connection:
        connection.exec_driver_sql(row.format(7, 7, "wire", "stored"))
        connection.exec_driver_sql("INSERT INTO article_urls VALUES ('https://x.example/7', 7)")
        connection.exec_driver_sql("INSERT INTO article_topics VALUES (7, 'nato', '[\"NATO\"]')")
    migrate(engine)
    with engine.connect() as connection:  # the copy did not cascade to what refers to it
        assert connection.exec_driver_sql("SELECT count(*) FROM article_urls").scalar() == 1
        assert connection.exec_driver_sql("SELECT count(*) FROM article_topics").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with engine.begin() as connection:
        connection.exec_driver_sql(row.format(8, 8, "daily", "copied"))  # the same fingerprint
        found = connection.exec_driver_sql(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'llama' ORDER BY rowid"
        ).scalars().all()  # fmt: skip
        connection.exec_driver_sql("UPDATE articles SET title = 'Renamed' WHERE id = 7")
        renamed = connection.exec_driver_sql(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'renamed'"
        ).scalars().all()  # fmt: skip
    assert found == [7, 8] and renamed == [7]
    engine.dispose()
