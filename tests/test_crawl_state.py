"""crawler.store.crawl_state: a pass reads every source's validators in one query and writes the
sources' outcomes in batches, with the same result as one source at a time."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, select

from crawler.schedule.polling import Outcome
from crawler.store.crawl_state import CrawlState, Validators
from crawler.store.database import migrate
from crawler.store.schema import sources
from tests.conftest import run_cli
from tests.outlets import page, rss2

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(
        engine, "before_cursor_execute", lambda _c, _cur, statement, *_: seen.append(statement)
    )
    return seen


def rows(engine: Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as connection:
        found = connection.execute(select(sources).order_by(sources.c.name)).mappings().all()
    return {row["name"]: {k: v for k, v in row.items() if k != "id"} for row in found}


@pytest.mark.parametrize("count", [3, 600])  # a few sources by name, many: the whole table
def test_validators_of_a_pass_in_one_query(engine: Engine, count: int) -> None:
    state = CrawlState(engine)
    urls = {f"s{n}": f"http://news.example/{n}.xml" for n in range(count)}
    state.save_all_validators(
        [(name, url, Validators(f'"{name}"', None, "h")) for name, url in urls.items()]
    )
    state.save_validators("moved", "http://old.example/feed.xml", Validators('"old"'))
    executed = statements(engine)
    found = state.all_validators({**urls, "moved": "http://new.example/feed.xml", "new": "x"})
    assert len(executed) == 1
    assert found == {name: Validators(f'"{name}"', None, "h") for name in urls}
    assert state.validators("s1", urls["s1"]) == Validators('"s1"', None, "h")
    assert state.validators("moved", "http://new.example/feed.xml") == Validators()


def test_a_planned_run_is_one_statement_once_the_row_exists(engine: Engine) -> None:
    """The scheduler stores each source's next run after every pass: the row is made the
    first time, then one UPDATE (with the worker of the pass, in the distributed mode)."""
    state = CrawlState(engine)
    state.save_schedule("wire", "http://wire.example/feed.xml", 600.0, NOW, "no history")
    executed = statements(engine)
    state.save_schedule("wire", "http://wire.example/feed.xml", 900.0, NOW, None, "host-1:7")
    assert [s.split()[0] for s in executed if not s.startswith(("BEGIN", "COMMIT"))] == ["UPDATE"]
    state.save_schedule("wire", "http://wire.example/feed.xml", 1200.0, NOW)  # no worker: kept
    row = rows(engine)["wire"]
    assert (row["interval"], row["schedule_error"], row["last_worker"]) == (
        1200.0,
        None,
        "host-1:7",
    )
    assert row["next_run_at"].replace(tzinfo=UTC) == NOW


OUTCOMES = [
    ("ok", Outcome("ok", "12 entries, 3 new", 12, 3, problem="recovered feed defect")),
    ("quiet", Outcome("ok", "5 entries, 0 new", 5, 0)),
    ("same", Outcome("not_modified", "not modified (304)")),
    ("body", Outcome("unchanged", "unchanged (same body)")),
    ("down", Outcome("error", "HTTP 503", retry_after=60)),
]


def test_outcomes_in_one_batch_are_recorded_as_one_by_one(tmp_path: Path) -> None:
    one_by_one, batched = (
        create_engine(f"sqlite:///{tmp_path / name}.db") for name in ("one", "batch")
    )
    try:
        for engine in (one_by_one, batched):
            migrate(engine)
            state = CrawlState(engine)
            state.record("down", "http://down.example/", Outcome("error", "timeout"), now=NOW)
            state.save_validators("ok", "http://old.example/", Validators('"v"'))
        for name, outcome in OUTCOMES:
            CrawlState(one_by_one).record(name, f"http://{name}.example/", outcome, now=NOW)
        executed = statements(batched)
        CrawlState(batched).record_all(
            [(name, f"http://{name}.example/", outcome) for name, outcome in OUTCOMES], now=NOW
        )
        assert rows(batched) == rows(one_by_one)
        assert len(executed) <= 2 + len(OUTCOMES)  # existing names, new rows, one per kind
        recorded = rows(batched)
        assert recorded["down"]["consecutive_failures"] == 2
        assert recorded["ok"]["url"] == "http://ok.example/"  # the source's URL follows config
        assert recorded["ok"]["etag"] == '"v"'  # validators are not the outcome's business
    finally:
        one_by_one.dispose()
        batched.dispose()


def test_a_pass_records_every_outcome_and_validators(site, make_config, tmp_path: Path) -> None:
    article = site.add("/a/1", page("en_pentagon_ai.html"))
    site.add(
        "/fresh.xml",
        rss2([("Story", article)]),
        content_type="application/rss+xml",
        etag='"fresh-1"',
    )
    site.add("/empty.xml", rss2([]), content_type="application/rss+xml", etag='"empty-1"')
    config = make_config(
        [
            {"name": "fresh", "url": site.url("/fresh.xml")},
            {"name": "empty", "url": site.url("/empty.xml")},
            {"name": "missing", "url": site.url("/missing.xml")},
        ]
    )
    for _ in range(2):
        result = run_cli("crawl", "--config", str(config))
        assert result.returncode in (0, 1), result.stderr
    with sqlite3.connect(tmp_path / "newsmon.db") as connection:
        found = {
            row[0]: row[1:]
            for row in connection.execute(
                "SELECT name, last_status, passes, consecutive_failures, etag FROM sources"
            )
        }
    assert found == {
        "fresh": ("not_modified", 2, 0, '"fresh-1"'),
        "empty": ("not_modified", 2, 0, '"empty-1"'),
        "missing": ("error", 2, 2, None),
    }
    assert site.hits["/a/1"] == 1
