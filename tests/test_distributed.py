"""The distributed mode end to end, with the real RabbitMQ and PostgreSQL: `newsmon schedule`
and `newsmon worker` processes crawling fixture sites (issue 16). Every test that uses the
broker is here: pytest-xdist runs a module's tests one after the other, and one of them
restarts the broker."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.schedule.broker import DELIVERY_LIMIT, Broker, PassRequest, PassResult
from tests.config_files import yaml_data, yaml_text
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
        print(f"--- {name} ---", running.errors(name)[-6000:], sep="\n")


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
    # One request at a time to the articles' host, over both workers (shared host limits).
    config = distributed_config(
        make_config,
        sources,
        postgres_url,
        prefix,
        worker_concurrency=1,
        concurrent_requests_per_host=1,
    )
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
    assert pages.max_in_flight == 1  # the host's limit held across the two workers

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


def slow_source(
    site_factory, name: str, count: int, delay: float
) -> tuple[dict, list[str], object]:
    """A source whose pass takes about `count * delay` seconds: its articles, one at a time."""
    feed_site, article_site = site_factory(), site_factory()
    body = page("en_pentagon_ai.html")
    urls = [
        article_site.add(
            f"/{name}/{n}", body.replace(b"Monday", f"slow {name} {n}".encode()), delay=delay
        )
        for n in range(count)
    ]
    feed_site.add("/feed.xml", rss2([(f"{name} {n}", u) for n, u in enumerate(urls)]))
    source = {"name": name, "url": feed_site.url("/feed.xml"), "every": "1h", "adaptive": False}
    return source, urls, article_site


def test_a_killed_workers_pass_is_finished_by_another(
    site_factory, make_config, postgres_url, prefix, processes
) -> None:
    source, urls, article_site = slow_source(site_factory, "slow", 6, 1.0)
    distributed_config(make_config, [source], postgres_url, prefix, concurrent_requests_per_host=1)
    processes.scheduler()
    processes.worker("worker-a")
    wait_for(lambda: len(stored_urls(postgres_url)) >= 2, 60, "worker-a mid-pass")
    processes.kill("worker-a")  # kill -9: no goodbye, its pass unacknowledged
    owed = "SELECT count(*) FROM owed_links WHERE dropped_at IS NULL AND gave_up_at IS NULL"
    assert query(postgres_url, owed)[0][0] >= 1  # asked for by worker-a, not stored yet
    processes.worker("worker-b")
    wait_for(lambda: len(stored_urls(postgres_url)) >= len(urls), 60, "every article")
    wait_for(lambda: "Source slow: 6 entries" in processes.text("scheduler"), 30, "the result")
    assert sorted(stored_urls(postgres_url)) == sorted(urls)  # nothing lost, nothing twice
    assert query(postgres_url, owed) == [(0,)]  # the owed links were fetched by worker-b
    assert "a pass delivered again" in processes.text("worker-b")
    assert query(postgres_url, "SELECT last_worker FROM sources") == [("worker-b",)]
    listed = run_cli("workers", "--all", "--json", "--config", str(processes.config))
    states = {row["name"]: row["state"] for row in json.loads(listed.stdout)}
    assert states["worker-b"] == "live"
    assert states["worker-a"] in ("live", "lost")  # lost once 30 s pass without a heartbeat


def test_sigterm_finishes_or_returns_the_running_pass(
    site_factory, make_config, postgres_url, prefix, processes
) -> None:
    source, urls, article_site = slow_source(site_factory, "long", 8, 1.0)
    distributed_config(make_config, [source], postgres_url, prefix, concurrent_requests_per_host=1)
    processes.scheduler()
    processes.worker("worker-a")
    wait_for(lambda: len(stored_urls(postgres_url)) >= 1, 60, "worker-a mid-pass")
    assert processes.stop("worker-a") < 30
    # Scrapy finishes the requests it has started; a pass that cannot end in time goes back.
    finished = "Source long: 8 entries" in processes.text("scheduler")
    assert finished or "Source long: pass returned to the queue" in processes.text("worker-a")
    processes.worker("worker-b")
    wait_for(lambda: len(stored_urls(postgres_url)) >= len(urls), 60, "every article")
    assert sorted(stored_urls(postgres_url)) == sorted(urls)
    wait_for(lambda: "Source long: 8 entries" in processes.text("scheduler"), 30, "the result")


def test_a_standby_scheduler_takes_over(
    site_factory, make_config, postgres_url, prefix, processes
) -> None:
    feed_site = site_factory()
    feed_site.add("/feed.xml", rss2([]), etag='"1"')
    sources = [{"name": "wire", "url": feed_site.url("/feed.xml"), **FAST}]
    distributed_config(make_config, sources, postgres_url, prefix)
    processes.scheduler("first")
    wait_for(lambda: "leading" in processes.text("first"), 30, "the first to lead")
    processes.scheduler("second")
    processes.worker("worker-a")
    wait_for(lambda: "standing by" in processes.text("second"), 30, "the second to wait")
    wait_for(lambda: feed_site.hits.get("/feed.xml", 0) >= 2, 30, "passes")
    processes.kill("first")
    wait_for(lambda: "leading" in processes.text("second"), 30, "the second to lead")
    polled = feed_site.hits.get("/feed.xml", 0)
    wait_for(lambda: feed_site.hits.get("/feed.xml", 0) >= polled + 3, 30, "passes again")
    assert feed_site.max_in_flight == 1


def restart_broker() -> None:
    """Stop and start RabbitMQ's application: every connection drops; durable queues and
    persistent messages stay."""
    for action in ("stop_app", "start_app"):
        subprocess.run(["rabbitmqctl", "-q", action], check=True, timeout=120, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "await_startup"], check=True, timeout=120, capture_output=True
    )


def test_scheduler_and_workers_go_on_after_a_broker_restart(
    site_factory, make_config, postgres_url, prefix, processes
) -> None:
    feed_site, pages = site_factory(), site_factory()
    first = articles(pages, 2, "before")
    feed_site.add("/feed.xml", rss2([(f"a {n}", u) for n, u in enumerate(first)]), etag='"1"')
    sources = [{"name": "wire", "url": feed_site.url("/feed.xml"), **FAST}]
    distributed_config(make_config, sources, postgres_url, prefix)
    processes.scheduler()
    processes.worker("worker-a")
    wait_for(lambda: len(stored_urls(postgres_url)) >= 2, 60, "the first articles")

    restart_broker()
    later = articles(pages, 2, "after")
    feed_site.add(
        "/feed.xml", rss2([(f"b {n}", u) for n, u in enumerate(first + later)]), etag='"2"'
    )
    wait_for(lambda: len(stored_urls(postgres_url)) >= 4, 90, "articles after the restart")
    assert sorted(stored_urls(postgres_url)) == sorted(first + later)
    polled = feed_site.hits["/feed.xml"]
    wait_for(lambda: feed_site.hits["/feed.xml"] >= polled + 2, 30, "passes go on")
    assert "connected again" in processes.text("worker-a")
    assert "connected again" in processes.text("scheduler")


def test_passes_go_on_after_the_store_drops_every_connection(
    site_factory, make_config, postgres_url, prefix, processes
) -> None:
    """What the processes see of a restart of PostgreSQL, without restarting the server that
    other tests use at the same time: every connection of theirs is terminated."""
    feed_site, pages = site_factory(), site_factory()
    first = articles(pages, 2, "before")
    feed_site.add("/feed.xml", rss2([(f"a {n}", u) for n, u in enumerate(first)]), etag='"1"')
    sources = [{"name": "wire", "url": feed_site.url("/feed.xml"), **FAST}]
    database = f"{postgres_url}&application_name={prefix}"
    distributed_config(make_config, sources, database, prefix)
    processes.scheduler()
    processes.worker("worker-a")
    wait_for(lambda: len(stored_urls(postgres_url)) >= 2, 60, "the first articles")

    terminated = query(
        postgres_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE application_name = '{prefix}'",
    )
    assert len(terminated) >= 2  # the scheduler's lock and the worker's connections at least
    later = articles(pages, 2, "after")
    feed_site.add(
        "/feed.xml", rss2([(f"b {n}", u) for n, u in enumerate(first + later)]), etag='"2"'
    )
    wait_for(lambda: len(stored_urls(postgres_url)) >= 4, 90, "articles after the drop")
    assert sorted(stored_urls(postgres_url)) == sorted(first + later)
    wait_for(lambda: "Scheduling again" in processes.text("scheduler"), 30, "the lead again")
    polled = feed_site.hits["/feed.xml"]
    wait_for(lambda: feed_site.hits["/feed.xml"] >= polled + 2, 30, "passes go on")


def test_config_edits_reach_every_worker_and_retag_once(
    site_factory, make_config, postgres_url, prefix, processes
) -> None:
    """A source added and a topic edited while a scheduler and two workers run: the workers
    crawl the new source with the scheduler's config version, the stored articles are
    re-tagged once (by the scheduler), and a copy stored by one worker of an original stored
    by the other is marked as such."""
    original_site, copy_site = site_factory(), site_factory()
    body = page("en_pentagon_ai.html")
    original = original_site.add("/story", body)
    original_site.add("/feed.xml", rss2([("story", original)]), etag='"1"')
    copy = copy_site.add("/syndicated/story", body)
    copy_site.add("/feed.xml", rss2([("story", copy)]), etag='"1"')
    sources = [{"name": "wire", "url": original_site.url("/feed.xml"), **FAST}]
    config = distributed_config(make_config, sources, postgres_url, prefix)
    processes.scheduler()
    processes.worker("worker-a")
    wait_for(lambda: stored_urls(postgres_url) == [original], 60, "the original")
    assert processes.stop("worker-a") < 30
    processes.worker("worker-b")

    topics = yaml_data((config / "topics.yaml").read_text())
    topics["topics"].append({"name": "pentagon", "any": ["Pentagon"]})
    (config / "topics.yaml").write_text(yaml_text(topics))
    more = yaml_data((config / "sources.yaml").read_text())
    more["sources"].append({"name": "syndicate", "url": copy_site.url("/feed.xml"), **FAST})
    (config / "sources.yaml").write_text(yaml_text(more))

    wait_for(lambda: len(stored_urls(postgres_url)) == 2, 60, "the copy")
    rows = dict(query(postgres_url, "SELECT url, duplicate_of IS NOT NULL FROM articles"))
    assert rows == {original: False, copy: True}  # found across workers
    wait_for(lambda: "re-tagged" in processes.text("scheduler"), 30, "the re-tagging")
    tagged = query(
        postgres_url,
        "SELECT a.url FROM article_topics t JOIN articles a ON a.id = t.article_id "
        "WHERE t.topic = 'pentagon'",
    )
    assert {url for (url,) in tagged} == {original, copy}
    logs = processes.text("scheduler") + processes.text("worker-a") + processes.text("worker-b")
    assert logs.count("Topics changed") == 1  # once, by the scheduler
    assert query(postgres_url, "SELECT count(*) FROM config_versions") == [(2,)]
    assert query(postgres_url, "SELECT last_worker FROM sources WHERE name = 'syndicate'") == [
        ("worker-b",)
    ]


def test_a_pass_that_stops_every_worker_comes_back_as_failed() -> None:
    """The broker gives a pass up after `DELIVERY_LIMIT` deliveries more without an
    acknowledgement, into the results, where it reads as a failed pass of its source."""

    async def deliveries() -> tuple[int, PassResult]:
        broker = Broker(BROKER, f"newsmon_test_{uuid.uuid4().hex[:10]}", "test")
        await broker.connect(prefetch=1)
        try:
            request = PassRequest("wire", "v1")
            await broker.publish(broker.passes, request.body(), request.id)
            taken = 0
            while (
                message := await broker.queues[broker.passes].get(fail=False, timeout=5)
            ) is not None:
                taken += 1
                await message.reject(requeue=True)  # as a worker killed mid-pass would
            result = await broker.queues[broker.results].get(timeout=5)
            await result.ack()
            return taken, PassResult.from_message(result.body, dict(result.headers))
        finally:
            for queue in broker.queues.values():
                await queue.delete(if_unused=False, if_empty=False)
            await broker.close()

    taken, result = asyncio.run(deliveries())
    assert taken == DELIVERY_LIMIT + 1
    assert (result.source, result.status, result.worker) == ("wire", "failed", "-")
    assert result.source_outcome().status == "error"
    assert "stopped the workers 6 times" in result.source_outcome().summary
