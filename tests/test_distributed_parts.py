"""The distributed mode's parts in process: its messages, the store's locks, worker rows and
config versions on the real PostgreSQL, and the one-line refusals of its commands. What needs
the real RabbitMQ is in tests/test_distributed.py, whose tests run one after the other (one
of them restarts the broker)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from crawler.cli.main import cli
from crawler.schedule.broker import (
    PassRequest,
    PassResult,
)
from crawler.schedule.polling import Outcome
from crawler.schedule.worker import config_from_files
from crawler.store import config_versions, workers
from crawler.store.database import engine_for
from crawler.store.locks import AdvisoryLocks
from crawler.text.urls import without_password
from tests.conftest import run_cli
from tests.distributed import BROKER
from tests.outlets import TOPICS, refused_port


def invoke(*args: str):
    return CliRunner().invoke(
        cli, list(args), env={"NEWSMON_DATABASE": None, "NEWSMON_BROKER": None}
    )


def test_messages_round_trip() -> None:
    request = PassRequest("wire", "abc123")
    assert PassRequest.from_body(request.body()) == request
    outcome = Outcome("ok", "3 entries, 1 new", 3, 1, failed=1, failure="1 of 1 failed")
    result = PassResult(request.id, "wire", "host:1", "done", outcome.__dict__, 1, {"nato": 1})
    back = PassResult.from_body(result.body())
    assert back.source_outcome() == outcome
    assert back.stats() == {"newsmon/store/new": 1, "newsmon/hits/nato": 1}
    assert PassResult("x", "wire", "w", "unknown").source_outcome().status == "error"


def test_broker_urls_are_logged_without_password() -> None:
    assert without_password("amqp://user:secret@mq:5672/v") == "amqp://user:***@mq:5672/v"
    assert without_password("amqp://mq:5672/") == "amqp://mq:5672/"


def test_locks_are_held_by_one_connection_until_released(postgres_url: str) -> None:
    engine = engine_for(postgres_url)
    other = create_engine(postgres_url, poolclass=NullPool)
    mine, theirs = AdvisoryLocks(engine), AdvisoryLocks(other)
    try:
        assert mine.acquire("scheduler")
        assert mine.acquire("scheduler")  # held already
        assert mine.acquire("source:wire")  # one connection holds many
        assert not theirs.acquire("scheduler")
        assert not theirs.acquire("source:wire")
        assert theirs.acquire("source:nato")  # another name, another lock
        mine.release("source:wire")
        assert theirs.acquire("source:wire")
        assert not mine.acquire("source:wire")
        assert mine.alive() and mine.held == {"scheduler"}
    finally:
        mine.close()
        theirs.close()
        other.dispose()


def test_locks_whose_connection_dies_are_free_and_known_lost(postgres_url: str) -> None:
    engine = engine_for(postgres_url)
    locks = AdvisoryLocks(engine)
    assert locks.acquire("scheduler") and locks.acquire("source:wire")
    assert locks.connection is not None
    pid = locks.connection.execute(text("SELECT pg_backend_pid()")).scalar()
    locks.connection.commit()
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert not locks.alive()
    assert locks.held == set()
    other = AdvisoryLocks(create_engine(postgres_url, poolclass=NullPool))
    assert other.acquire("scheduler") and other.acquire("source:wire")
    other.close()
    assert locks.acquire("scheduler")  # a new connection
    locks.close()


def test_worker_rows_tell_live_stopped_and_lost(postgres_url: str) -> None:
    engine = engine_for(postgres_url)
    workers.register(engine, "a", "host-a", 1)
    workers.register(engine, "b", "host-b", 2)
    workers.register(engine, "c", "host-c", 3)
    workers.beat(engine, "a", ["wire", "nato"], 4)
    workers.stop(engine, "b", 7)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE workers SET heartbeat_at = :old WHERE name = 'c'"),
            {"old": datetime.now(UTC) - timedelta(minutes=5)},
        )
    now = datetime.now(UTC)
    rows = {row.name: row for row in workers.listing(engine)}
    assert {name: row.state(now) for name, row in rows.items()} == {
        "a": "live",
        "b": "stopped",
        "c": "lost",
    }
    assert rows["a"].running == ("wire", "nato")
    assert rows["a"].passes == 4
    workers.register(engine, "b", "host-b", 9)  # restarted under its name: live again
    assert {row.name: row.pid for row in workers.listing(engine)}["b"] == 9


def test_config_versions_are_stored_once_and_read_back(postgres_url: str, make_config) -> None:
    engine = engine_for(postgres_url)
    config = make_config([{"name": "wire", "url": "https://example.org/feed"}], TOPICS)
    files = config_versions.files_of(
        config, ("settings.yaml", "sources.yaml", "topics.yaml", "alerts.yaml")
    )
    assert set(files) == {"settings.yaml", "sources.yaml", "topics.yaml"}
    version = config_versions.save_files(engine, files)
    assert config_versions.save_files(engine, files) == version
    assert config_versions.load_files(engine, version) == files
    assert config_versions.load_files(engine, "0" * 64) is None
    loaded = config_from_files(files, version)
    assert [source.name for source in loaded.sources] == ["wire"]
    assert [topic.name for topic in loaded.topics] == [topic["name"] for topic in TOPICS]
    assert str(loaded.directory) == f"<config {version[:12]}>"


def test_the_distributed_commands_need_postgresql_and_a_broker(make_config, postgres_url) -> None:
    sqlite = make_config([], broker=BROKER)
    result = invoke("schedule", "--config", str(sqlite))
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: the distributed mode needs a PostgreSQL store, not sqlite "
        "(set `database` to a postgresql+psycopg:// URL)"
    )
    no_broker = make_config([], name="nobroker", database=postgres_url)
    result = invoke("worker", "--config", str(no_broker))
    assert result.exit_code == 2
    assert "no broker: set `broker` in settings.yaml or $NEWSMON_BROKER" in result.output
    bad = make_config([], name="bad", database=postgres_url, broker="http://mq")
    result = invoke("worker", "--config", str(bad))
    assert result.exit_code == 2
    assert "broker" in result.output and "amqp://" in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_broker_is_one_line(make_config, postgres_url) -> None:
    port = refused_port()
    config = make_config([], database=postgres_url, broker=f"amqp://guest:secret@127.0.0.1:{port}/")
    # In a process of its own: the AMQP client leaves its connection to the garbage collector.
    result = run_cli("worker", "--config", str(config), "--name", "w", timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Error: broker amqp://guest:***@127.0.0.1:{port}/")
    assert "secret" not in result.stderr + result.stdout


def test_workers_lists_live_ones_and_all_with_all(make_config, postgres_url) -> None:
    config = make_config([], database=postgres_url)
    engine = engine_for(postgres_url)
    assert invoke("workers", "--config", str(config)).output == "No live workers.\n"
    workers.register(engine, "w1", "host", 11)
    workers.beat(engine, "w1", ["wire"], 3)
    workers.register(engine, "w2", "host", 12)
    workers.stop(engine, "w2", 5)
    result = invoke("workers", "--config", str(config))
    assert result.exit_code == 0
    assert result.output.startswith("w1  live  heartbeat 0s ago  3 passes since ")
    assert result.output.rstrip().endswith("running: wire")
    assert "w2" not in result.output
    listed = json.loads(invoke("workers", "--all", "--json", "--config", str(config)).output)
    assert [(row["name"], row["state"], row["running"]) for row in listed] == [
        ("w2", "stopped", []),
        ("w1", "live", ["wire"]),
    ]


def test_a_worker_config_needs_only_its_settings(tmp_path: Path, postgres_url) -> None:
    """A worker's host has a settings.yaml and nothing else: its passes bring the rest."""
    from crawler.config.files import load_settings

    directory = tmp_path / "worker"
    directory.mkdir()
    (directory / "settings.yaml").write_text(f"database: {postgres_url}\nbroker: {BROKER}\n")
    config = load_settings(directory)
    assert config.settings.broker == BROKER
    assert config.sources == () and config.topics == ()


def test_config_check_hides_the_brokers_password_and_the_environment_overrides(
    make_config,
) -> None:
    config = make_config([], broker="amqp://newsmon:secret@mq.example:5672/news")
    result = invoke("config", "check", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "    broker: amqp://newsmon:***@mq.example:5672/news (default: null)" in result.output
    assert "secret" not in result.output
    other = "amqp://guest:guest@127.0.0.1:5672/"
    runner = CliRunner().invoke(
        cli, ["config", "check", "--config", str(config)], env={"NEWSMON_BROKER": other}
    )
    assert "    broker: amqp://guest:***@127.0.0.1:5672/ (default: null)" in runner.output
    bad = CliRunner().invoke(
        cli, ["config", "check", "--config", str(config)], env={"NEWSMON_BROKER": "redis://x"}
    )
    assert bad.exit_code == 2
    assert bad.output.startswith("Error: config: $NEWSMON_BROKER: field 'broker'")


def test_a_worker_deletes_ended_leases(tmp_path: Path, postgres_url) -> None:
    """The shared host limits' housekeeping is the worker's (on its heartbeat's turn, once
    `FORGET_IDLE_EVERY`), not each pass's: ended leases are deleted, live ones stay."""
    import asyncio
    import time

    from crawler.config.files import load_settings
    from crawler.schedule import worker as worker_module
    from crawler.store.host_limits import acquire, limits_engine

    directory = tmp_path / "worker"
    directory.mkdir()
    (directory / "settings.yaml").write_text(f"database: {postgres_url}\nbroker: {BROKER}\n")
    worker = worker_module.Worker(load_settings(directory), "w", 1, "INFO")
    limits = limits_engine(postgres_url)
    assert acquire(limits, "ended.example", "gone", 1, lease=0.01) is not None
    assert acquire(limits, "live.example", "here", 1, lease=600) is not None
    time.sleep(0.05)

    def hosts() -> list[str]:
        with limits.connect() as connection:
            return sorted(connection.exec_driver_sql("SELECT host FROM host_permits").scalars())

    asyncio.run(worker.forget_idle())
    assert hosts() == ["live.example"]
