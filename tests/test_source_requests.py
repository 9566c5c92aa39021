"""Requests people make of the schedule, on SQLite and PostgreSQL: `newsmon sources reset`
clears the failures and back-off of a source and of its owed links; `newsmon sources poll`
leaves a request that `newsmon run` takes (the service side runs in tests/test_run_service.py).
A schedule that cannot be computed never unschedules a source."""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from crawler.cli.main import cli
from crawler.config.files import load_config
from crawler.review.web import create_app
from crawler.schedule.polling import Outcome
from crawler.schedule.service import Service
from crawler.store import source_requests
from crawler.store.database import engine_for
from crawler.store.schema import owed_links, sources
from tests.outlets import TOPICS

NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'newsmon.db'}"
    return str(request.getfixturevalue("postgres_url"))


def backed_off(database: str) -> None:
    """Two sources failing for days, each with owed links in back-off or given up."""
    engine = engine_for(database)
    with engine.begin() as connection:
        for name in ("a", "b"):
            connection.execute(
                insert(sources).values(
                    name=name,
                    url=f"https://{name}.example/feed",
                    consecutive_failures=7,
                    last_status="error",
                    last_error="HTTP 503",
                    next_run_at=NOW + timedelta(hours=20),
                )
            )
            for n in range(2):
                connection.execute(
                    insert(owed_links).values(
                        url=f"https://{name}.example/{n}",
                        source=name,
                        attempts=5 + n,
                        first_seen_at=NOW,
                        next_attempt_at=NOW + timedelta(hours=8),
                        gave_up_at=NOW if n else None,
                        last_error="HTTP 503",
                    )
                )
    engine.dispose()


def config_for(make_config, database: str):
    return make_config(
        [
            {"name": "a", "url": "https://a.example/feed"},
            {"name": "b", "url": "https://b.example/feed", "enabled": False},
        ],
        TOPICS,
        database=database,
    )


def test_reset_clears_failures_and_back_off_of_sources_and_owed_links(
    make_config, database: str
) -> None:
    backed_off(database)
    config = config_for(make_config, database)
    result = CliRunner().invoke(cli, ["sources", "reset", "a", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "Reset 1 source(s): failures and back-off cleared, 2 owed link(s) due again" in (
        result.output
    )
    engine = engine_for(database)
    with engine.connect() as connection:
        state = {row.name: row for row in connection.execute(select(sources))}
        links = {row.url: row for row in connection.execute(select(owed_links))}
    assert (state["a"].consecutive_failures, state["a"].next_run_at) == (0, None)
    assert state["a"].last_error == "HTTP 503"  # what happened stays on record
    assert state["b"].consecutive_failures == 7 and state["b"].next_run_at is not None
    for n in range(2):
        link = links[f"https://a.example/{n}"]
        assert (link.attempts, link.next_attempt_at, link.gave_up_at) == (0, None, None)
        assert links[f"https://b.example/{n}"].attempts == 5 + n  # the other source: untouched
    # --all: every configured source, disabled ones too.
    every = CliRunner().invoke(cli, ["sources", "reset", "--all", "--config", str(config)])
    assert every.exit_code == 0 and "Reset 2 source(s)" in every.output
    with engine.connect() as connection:
        assert connection.execute(select(sources.c.consecutive_failures)).scalars().all() == [0, 0]
    # Unknown names and missing arguments are user errors.
    for args in (["nobody"], [], ["a", "--all"]):
        refused = CliRunner().invoke(cli, ["sources", "reset", *args, "--config", str(config)])
        assert refused.exit_code == 2, refused.output
    engine.dispose()


def test_poll_requests_wait_until_taken(make_config, database: str) -> None:
    config = config_for(make_config, database)
    engine = engine_for(database)
    assert source_requests.pending(engine) == []
    source_requests.request_poll(engine, {"a": "https://a.example/feed"}, NOW)  # never polled
    [request] = source_requests.pending(engine)
    assert (request.name, request.poll_requested_at, request.failures) == ("a", NOW, 0)
    assert source_requests.requested(engine, ["a", "b"]) == {"a"}
    # A newer request than the one taken stays.
    later = NOW + timedelta(seconds=5)
    source_requests.request_poll(engine, {"a": "https://a.example/feed"}, later)
    source_requests.take(engine, "a", NOW)
    assert source_requests.requested(engine, ["a"]) == {"a"}
    source_requests.take(engine, "a", later)
    assert source_requests.requested(engine, ["a"]) == set()
    # A disabled source: `run` does not poll it, so the CLI says how to poll it instead.
    disabled = CliRunner().invoke(cli, ["sources", "poll", "b", "--config", str(config)])
    assert disabled.exit_code == 2 and "newsmon crawl --source b" in disabled.output
    engine.dispose()


def test_a_schedule_that_cannot_be_computed_falls_back_and_flags(
    make_config, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """`cron: '* * 31 2 *'` passed `config check` before; `newsmon run` then logged an
    AssertionError and never polled the source again. Now: one line naming the source, the
    default interval, and a flag in `sources status` and the dashboard until it heals."""
    config_dir = make_config(
        [{"name": "feb", "url": "https://feb.example/feed", "cron": "0 6 * * *"}],
        TOPICS,
        database=database,
        every="2h",
        jitter=0,
    )
    config = load_config(config_dir)
    service = Service(config, rng=random.Random(1))
    service._sync_sources()  # planned, as at start-up (no scheduler: stored only)
    tracked = service.tracked["feb"]
    tracked.policy = replace(tracked.policy, cron="* * 31 2 *")  # as an older check let through
    before = datetime.now(UTC)
    with caplog.at_level(logging.ERROR, logger="newsmon.run"):
        service.after_pass(tracked, Outcome("ok", "3 entries, 1 new", 3, 1), {})
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        "Source feb: cannot compute the next run (ScheduleError: the crontab expression "
        "'* * 31 2 *' never fires again); next in 2.0h, the default interval"
    ]
    assert tracked.next_run_at is not None
    delay = (tracked.next_run_at - before).total_seconds()
    assert 2 * 3600 - 5 <= delay <= 2 * 3600 + 5
    status = CliRunner().invoke(cli, ["sources", "status", "--config", str(config_dir)])
    assert status.exit_code == 0, status.output
    assert "feb [SCHEDULE ERROR]" in status.output
    assert "schedule error: ScheduleError: the crontab expression" in status.output
    dashboard = create_app(service.state.engine, config).test_client().get("/dashboard")
    html = dashboard.get_data(as_text=True)
    assert "SCHEDULE ERROR" in html and "never fires again" in html
    # An overflow (`every: 99999999999d` once passed the check) is caught the same way.
    tracked.policy = replace(tracked.policy, cron=None, every=1e15, max_backoff=1e15)
    tracked.interval = 1e15
    service.after_pass(tracked, Outcome("error", "HTTP 500"), {})
    assert "OverflowError" in (tracked.schedule_error or "")
    assert tracked.interval == 7200  # the default interval replaces the one that broke
    # A schedule that computes again clears the flag.
    tracked.policy = replace(tracked.policy, cron="0 6 * * *", every=3600.0, max_backoff=86400.0)
    tracked.interval, tracked.failures = 3600.0, 0
    service.after_pass(tracked, Outcome("ok", "3 entries, 0 new", 3, 0), {})
    assert tracked.next_run_at is not None and tracked.next_run_at.hour == 6
    healed = CliRunner().invoke(cli, ["sources", "status", "--config", str(config_dir)])
    assert "SCHEDULE ERROR" not in healed.output and "schedule error" not in healed.output
    service.state.engine.dispose()


def test_a_stored_interval_is_brought_within_the_current_bounds() -> None:
    """An interval stored before the bounds existed (`every: 99999999999d`) or before an edit
    no longer breaks the next run: adaptive ones are clamped, fixed ones start from `every`."""
    from crawler.schedule.polling import Policy
    from crawler.schedule.service import stored_interval

    adaptive = Policy(every=3600, min_every=300, max_every=6 * 3600, max_backoff=86400)
    assert stored_interval(adaptive, 8.64e15) == 6 * 3600
    assert stored_interval(adaptive, 10) == 300
    assert stored_interval(adaptive, 1800) == 1800
    assert stored_interval(adaptive, None) == 3600
    fixed = replace(adaptive, adaptive=False)
    assert stored_interval(fixed, 8.64e15) == 3600
    assert stored_interval(replace(adaptive, cron="0 6 * * *"), 8.64e15) == 3600
