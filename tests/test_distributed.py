"""The distributed mode end to end, with the real RabbitMQ and PostgreSQL: `newsmon schedule`
and `newsmon worker` processes crawling fixture sites (issue 16)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.distributed import BROKER, Processes, query, queue_prefix, stored_urls, wait_for
from tests.outlets import TOPICS, page, rss2

FAST = {"every": "1s", "adaptive": False}


@pytest.fixture
def prefix() -> Iterator[str]:
    yield from queue_prefix()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    running = Processes(tmp_path / "config", tmp_path)
    yield running
    running.close()
    for name in running.started:  # shown by pytest when the test failed
        error = running.started[name].stderr.read().decode(errors="replace")[-3000:]
        print(f"--- {name} ---", running.text(name)[-4000:], error, sep="\n")


def articles(site, count: int, name: str = "s") -> list[str]:
    """`count` article pages of distinct text on `site`."""
    body = page("en_pentagon_ai.html")
    return [
        site.add(f"/{name}/{n}", body.replace(b"Monday", f"day {name} {n}".encode()))
        for n in range(count)
    ]


def distributed_config(make_config, sources, postgres_url: str, prefix: str, **settings):
    return make_config(
        sources,
        TOPICS,
        database=postgres_url,
        broker=BROKER,
        broker_queue=prefix,
        jitter=0,
        **settings,
    )


def test_scheduler_and_two_workers_store_every_article_once(
    site_factory, make_config, postgres_url, prefix, processes
) -> None:
    pages = site_factory()
    feeds = {name: site_factory() for name in ("alpha", "beta", "gamma")}
    expected = []
    sources = []
    for name, feed_site in feeds.items():
        urls = articles(pages, 4, name)
        expected += urls
        feed_site.add(
            "/feed.xml", rss2([(f"{name} {n}", u) for n, u in enumerate(urls)]), etag='"1"'
        )
        sources.append({"name": name, "url": feed_site.url("/feed.xml"), **FAST})
    config = distributed_config(make_config, sources, postgres_url, prefix, worker_concurrency=1)
    processes.scheduler()
    processes.worker("worker-a")
    processes.worker("worker-b")

    wait_for(lambda: len(stored_urls(postgres_url)) >= len(expected), 90, "every article")
    for feed_site in feeds.values():  # passes go on after the first
        wait_for(lambda s=feed_site: s.hits.get("/feed.xml", 0) >= 3, 60, "three passes")

    stored = stored_urls(postgres_url)
    assert sorted(stored) == sorted(expected)  # each once, nothing else
    # One pass of a source at a time: each feed never had two requests at once.
    assert [s.max_in_flight for s in feeds.values()] == [1, 1, 1]

    # Both workers ran passes, and the store says which worker ran each source's last pass.
    ran = dict(query(postgres_url, "SELECT name, passes FROM workers"))
    assert ran.keys() == {"worker-a", "worker-b"}
    assert all(count > 0 for count in ran.values()), ran
    status = run_cli("sources", "status", "--json", "--config", str(config))
    assert status.returncode == 0, status.stderr
    assert {row["last_worker"] for row in json.loads(status.stdout)} <= {"worker-a", "worker-b"}
    listed = run_cli("workers", "--json", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    assert {row["name"]: row["state"] for row in json.loads(listed.stdout)} == {
        "worker-a": "live",
        "worker-b": "live",
    }

    # SIGTERM: each stops within 30 s, recorded as stopped.
    assert processes.stop("worker-a") < 30
    assert processes.stop("worker-b") < 30
    assert processes.stop("scheduler") < 30
    states = dict(query(postgres_url, "SELECT name, stopped_at IS NOT NULL FROM workers"))
    assert states == {"worker-a": True, "worker-b": True}
    assert "Traceback" not in processes.text("worker-a") + processes.text("scheduler")
