"""The Alembic migrations build exactly the schema that `crawler.store.schema` describes, on SQLite
and PostgreSQL, and opening a database twice migrates nothing twice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, text

from crawler.store import database
from crawler.store.database import MIGRATIONS, _sqlite_pragmas, migrate
from crawler.store.schema import ENGINE_SPECIFIC, metadata

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()
REPO = Path(__file__).resolve().parents[1]


def assert_matches_schema(url: str) -> None:
    engine = create_engine(url)
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as connection:
        # Objects of one engine (search tables and column, PostgreSQL's list-order indexes).
        context = MigrationContext.configure(
            connection, opts={"include_name": lambda name, kind, _: name not in ENGINE_SPECIFIC}
        )
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
    assert set(inspect(engine).get_table_names()) >= {
        "articles",
        "article_urls",
        "article_topics",
        "sources",
    }
    engine.dispose()


def test_head_is_the_migrations_head() -> None:
    """`migrate` knows the newest revision without reading the migrations: a new migration
    must bring `crawler.store.database.HEAD` to its revision."""
    assert database.HEAD == HEAD, f"set HEAD in crawler/store/database.py to {HEAD!r}"


def test_a_store_at_head_opens_without_alembic(tmp_path: Path) -> None:
    """A command opening a store already at the newest revision does not import Alembic
    (a new process: this one has imported it)."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    code = (
        "import sys\n"
        "from crawler.store.database import engine_for\n"
        f"engine_for({url!r})\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'alembic'))\n"
    )
    first, second = (
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    )
    assert first != "[]\n"  # the new store was created through Alembic
    assert second == "[]\n"
    engine = create_engine(url)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == HEAD
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
        found = (
            connection.exec_driver_sql(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'llama' ORDER BY rowid"
            )
            .scalars()
            .all()
        )
        connection.exec_driver_sql("UPDATE articles SET title = 'Renamed' WHERE id = 7")
        renamed = (
            connection.exec_driver_sql(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'renamed'"
            )
            .scalars()
            .all()
        )
    assert found == [7, 8] and renamed == [7]
    engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_upgrade_recanonicalizes_stored_urls(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """0010: articles stored under the old canonical form are still "already stored" when
    their links come back in the new one (RFC 3986 §6.2.2 normalization, IDN hosts, `ref`),
    so they are not downloaded again; owed links follow, and no URL is stored twice."""
    from crawler.store.crawl_state import CrawlState
    from crawler.text.urls import canonicalize

    if database == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(request.getfixturevalue("postgres_url"))
    old = {
        1: "https://www.lemonde.example/actualité-ia/",  # stored raw: an IRI
        2: "https://blog.example/2026/caf%c3%a9",  # WordPress's lowercase hex
        3: "https://bücher.de/neu",  # Unicode host
        4: "https://x.example/a?ref=rss",  # a source marker
        5: "https://x.example/a",  # already canonical: 4 cannot take its URL
        6: "https://x.example/plain",
    }
    migrate(engine, "0009")
    with engine.begin() as connection:
        for article_id, url in old.items():
            connection.execute(
                text(
                    "INSERT INTO articles (id, url, fingerprint, source, fetched_at, text) "
                    "VALUES (:id, :url, :f, 'wire', '2026-12-01', 'text')"
                ),
                {"id": article_id, "url": url, "f": f"f{article_id}"},
            )
            connection.execute(
                text("INSERT INTO article_urls VALUES (:url, :id)"), {"url": url, "id": article_id}
            )
        for url in (
            "https://owed.example/a?ref=hp",
            "https://owed.example/a",
            "https://owed.example/été",
        ):
            connection.execute(
                text(
                    "INSERT INTO owed_links (url, source, first_seen_at) "
                    "VALUES (:url, 'wire', '2026-12-01')"
                ),
                {"url": url},
            )
    migrate(engine)

    new = {article_id: canonicalize(url) for article_id, url in old.items()}
    assert new[1] == "https://www.lemonde.example/actualit%C3%A9-ia/"
    assert set(CrawlState(engine).known_urls(list(new.values()))) == set(new.values())
    with engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT id, url FROM articles")).all())
        by_url = dict(connection.execute(text("SELECT url, article_id FROM article_urls")).all())
        owed = set(connection.execute(text("SELECT url FROM owed_links")).scalars())
    assert stored == {**new, 4: old[4]}  # 5 held the new form of 4's URL already
    assert by_url[new[1]] == 1 and by_url[old[1]] == 1  # the old spelling stays beside it
    assert by_url[new[3]] == 3 and by_url["https://x.example/a"] == 5
    assert owed == {"https://owed.example/a", "https://owed.example/%C3%A9t%C3%A9"}
    migrate(engine)  # nothing left to do the second time
    engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_upgrade_makes_the_earliest_published_copy_the_original(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """0011: groups stored when the first-fetched article was the original are re-pointed to
    their earliest-published article (the wire's run fetched before the outlet's own report);
    ties, undated originals and groups in order stay as they are."""
    if database == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(request.getfixturevalue("postgres_url"))
    stored = {  # id: (published, duplicate_of)
        1: ("2024-11-05 08:00:00+00", None),  # the wire's run, fetched first
        2: ("2024-11-04 09:30:00+00", 1),  # the outlet's report: published first
        3: ("2024-11-06 07:00:00+00", 1),  # a teaser
        4: (None, 1),  # undated copy
        5: ("2024-11-04 09:30:00+00", 1),  # as early as 2, fetched later
        6: ("2024-11-04 10:00:00+00", None),  # a group already in order
        7: ("2024-11-05 10:00:00+00", 6),
        8: (None, None),  # an undated original keeps its copies
        9: ("2024-11-01 10:00:00+00", 8),
    }
    migrate(engine, "0010")
    with engine.begin() as connection:
        for article_id, (published, duplicate_of) in stored.items():
            connection.execute(
                text(
                    "INSERT INTO articles (id, url, fingerprint, source, fetched_at, text, "
                    "published, duplicate_of) VALUES (:id, :url, :f, 'wire', '2024-11-06', "
                    "'text', :published, :duplicate_of)"
                ),
                {
                    "id": article_id,
                    "url": f"https://x.example/{article_id}",
                    "f": f"f{article_id}",
                    "published": published,
                    "duplicate_of": duplicate_of,
                },
            )
    migrate(engine)
    with engine.connect() as connection:
        groups = dict(connection.execute(text("SELECT id, duplicate_of FROM articles")).all())
    assert groups == {1: 2, 2: None, 3: 2, 4: 2, 5: 2, 6: None, 7: 6, 8: None, 9: 8}
    engine.dispose()
