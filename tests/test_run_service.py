"""End to end: `newsmon run` as a subprocess against fixture sites with second-scale
intervals: repeated passes, a source added while it runs, an invalid edit refused, a failing
source that recovers, and a clean stop on SIGTERM with every article stored once."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.config_files import yaml_text
from tests.conftest import REPO, run_cli
from tests.outlets import TOPICS, page, rss2
from tests.processes import reap

FAST = {"every": "1s", "adaptive": False}


def wait_for(condition: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def read(log: Path) -> str:
    return log.read_text(encoding="utf-8") if log.exists() else ""


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.Popen(
        [sys.executable, "-m", "crawler", "run", "--config", str(config), "--log-file", str(log)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_run_polls_reloads_recovers_and_stops_cleanly(
    site_factory, make_config, tmp_path: Path
) -> None:
    wire, flaky, late = site_factory(), site_factory(), site_factory()
    body = page("en_pentagon_ai.html")
    stories = [wire.add(f"/s/{n}", body.replace(b"Monday", f"day {n}".encode())) for n in range(3)]
    wire.add("/feed.xml", rss2([("s", url) for url in stories]), etag='"w1"')
    flaky.add("/feed.xml", b"down", status=500)
    late_story = late.add("/story", page("fr_meta_llama.html"))
    late.add("/feed.xml", rss2([("late", late_story)]))
    sources = [
        {"name": "wire", "url": wire.url("/feed.xml"), **FAST},
        {"name": "flaky", "url": flaky.url("/feed.xml"), **FAST},
    ]
    config = make_config(sources, TOPICS, jitter=0, max_backoff="2s", retry_times=0)
    log = tmp_path / "run.log"
    process = start(config, log)
    try:
        # Repeated passes: at least three of each source.
        wait_for(lambda: wire.hits.get("/feed.xml", 0) >= 3, what="3 passes of wire")
        wait_for(lambda: flaky.hits.get("/feed.xml", 0) >= 3, what="3 passes of flaky")
        text = read(log)
        assert "Source wire: 3 entries, 3 new; 3 stored" in text
        assert "Source wire: not modified (304)" in text
        assert "Source flaky: failed (2 in a row): HTTP 500" in text

        # The failing source recovers by itself when the site comes back.
        flaky.add("/feed.xml", rss2([]))
        wait_for(lambda: "Source flaky: 0 entries, 0 new" in read(log), what="recovery")

        # An invalid edit is refused; the running config stays in force.
        sources_file = config / "sources.yaml"
        good = sources_file.read_text()
        sources_file.write_text(good + "  - {name: broken, url: not-a-url}\n")
        wait_for(lambda: "Config change refused" in read(log), what="refusal")
        polls = wire.hits["/feed.xml"]
        wait_for(lambda: wire.hits["/feed.xml"] > polls + 1, what="polling after refusal")

        # A source added while running is polled without a restart.
        sources.append({"name": "late", "url": late.url("/feed.xml"), **FAST})
        sources_file.write_text(yaml_text({"sources": sources}))
        wait_for(lambda: late.hits.get("/feed.xml", 0) >= 1, what="the new source")
        wait_for(lambda: late.hits.get("/story", 0) >= 1, what="the new source's article")

        # Edited topics: the stored articles are re-tagged without a restart.
        (config / "topics.yaml").write_text(yaml_text({"topics": [TOPICS[1]]}))
        wait_for(lambda: "Topics changed: 4 articles re-tagged" in read(log), what="re-tagging")
        assert "ai-military +0/-4" in read(log)  # the dropped topic left every article
        time.sleep(1)

        # SIGTERM: clean exit within 30 s.
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert time.monotonic() - stopped_at < 30
    finally:
        reap(process)
    assert "newsmon run: stopped" in read(log)

    with sqlite3.connect(tmp_path / "newsmon.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        urls = [row[0] for row in connection.execute("SELECT url FROM articles")]
    meta = late.url("/tech/2024/11/05/meta-ia-usage-militaire")  # the page's canonical URL
    assert sorted(urls) == sorted([*stories, meta])  # each exactly once
    for story in stories:
        assert wire.hits[story.removeprefix(wire.base)] == 1

    status = run_cli("sources", "status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    assert "wire\n" in status.stdout and "3 in 24h" in status.stdout
    assert "flaky" in status.stdout and "FAILING" not in status.stdout
    assert "next run" in status.stdout


def test_run_state_survives_restart(site, make_config, tmp_path: Path) -> None:
    site.add("/feed.xml", b"slow down", status=429, headers={"Retry-After": "3600"})
    config = make_config(
        [{"name": "busy", "url": site.url("/feed.xml"), **FAST}], TOPICS, jitter=0, retry_times=0
    )
    log = tmp_path / "run.log"
    process = start(config, log)
    try:
        wait_for(lambda: "Source busy: failed" in read(log), what="first pass")
        time.sleep(2)
        assert site.hits["/feed.xml"] == 1  # Retry-After: 3600 honoured
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        process = start(config, log)  # restarted: the next run stays an hour away
        wait_for(lambda: read(log).count("sources scheduled") == 2, what="restart")
        process.send_signal(signal.SIGHUP)  # re-read the config at once
        wait_for(lambda: "Config reloaded: 1 sources scheduled" in read(log), what="SIGHUP")
        time.sleep(2)
        assert site.hits["/feed.xml"] == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        reap(process)
    status = run_cli("sources", "status", "--config", str(config))
    assert "busy [FAILING, NEVER OK]" in status.stdout
    assert "last error: HTTP 429 (1 in a row)" in status.stdout
    assert "(in 5" in status.stdout or "(in 6" in status.stdout  # ~59 minutes away


def test_second_signal_exits_at_once(site, make_config, tmp_path: Path) -> None:
    body = page("en_pentagon_ai.html")
    links = [
        (
            f"s{n}",
            site.add(
                f"/s/{n}", body.replace(b"Monday", f"day {n}".encode()), delay=0.5 if n < 2 else 20
            ),
        )
        for n in range(4)
    ]
    site.add("/feed.xml", rss2(links))
    config = make_config(
        [{"name": "slow", "url": site.url("/feed.xml"), **FAST}],
        TOPICS,
        download_timeout=60,
        concurrent_requests_per_host=4,
    )
    log = tmp_path / "run.log"
    process = start(config, log)
    try:
        wait_for(lambda: site.hits.get("/s/3", 0) >= 1, what="a slow download under way")
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        time.sleep(0.2)
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 128 + signal.SIGINT
        assert time.monotonic() - stopped_at < 5
    finally:
        reap(process)
    assert "Second SIGINT: exiting now" in read(log)
    with sqlite3.connect(tmp_path / "newsmon.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_poll_and_reset_requests_are_honoured_within_seconds(
    site_factory, make_config, tmp_path: Path
) -> None:
    """`sources poll` and `sources reset` reach a running `newsmon run` through the store: an
    hourly source is polled again at once, a failing one leaves its back-off; without `run`,
    the request waits and the CLI says how to poll now."""
    wire, flaky = site_factory(), site_factory()
    story = wire.add("/story", page("en_pentagon_ai.html"))
    wire.add("/feed.xml", rss2([("story", story)]))
    flaky.add("/feed.xml", b"down", status=500)
    hourly = {"every": "1h", "adaptive": False}
    config = make_config(
        [
            {"name": "wire", "url": wire.url("/feed.xml"), **hourly},
            {"name": "flaky", "url": flaky.url("/feed.xml"), **hourly},
        ],
        TOPICS,
        jitter=0,
        retry_times=0,
    )
    log = tmp_path / "run.log"
    process = start(config, log)
    try:
        wait_for(lambda: "Source wire: 1 entries, 1 new" in read(log), what="first pass")
        wait_for(lambda: "Source flaky: failed (1 in a row)" in read(log), what="a failure")
        assert "Source flaky: failed (1 in a row): HTTP 500; 0 stored; next in 2.0h" in read(log)
        asked = time.monotonic()
        polled = run_cli("sources", "poll", "wire", "--config", str(config))
        assert polled.returncode == 0, polled.stderr
        assert "newsmon run is polling wire now." in polled.stdout
        wait_for(lambda: wire.hits["/feed.xml"] == 2, timeout=10, what="the requested poll")
        assert time.monotonic() - asked < 10
        assert "Source wire: poll requested; polling now" in read(log)

        flaky.add("/feed.xml", rss2([]))  # the site is back; the back-off would wait 2 h
        reset = run_cli("sources", "reset", "flaky", "--config", str(config))
        assert reset.returncode == 0, reset.stderr
        assert "Reset 1 source(s)" in reset.stdout
        wait_for(
            lambda: "Source flaky: 0 entries, 0 new" in read(log),
            timeout=10,
            what="the reset source polled",
        )
        assert "Source flaky: failures and back-off reset; polling now" in read(log)
        assert "Source flaky: 0 entries, 0 new; 0 stored; next in 60m" in read(log)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        reap(process)
    assert wire.hits["/feed.xml"] == 2 and flaky.hits["/feed.xml"] == 2
    with sqlite3.connect(tmp_path / "newsmon.db") as connection:
        assert connection.execute(
            "SELECT count(*) FROM sources WHERE poll_requested_at IS NOT NULL"
        ).fetchone() == (0,)

    # Without `newsmon run` the request waits, and the CLI says so.
    waiting = run_cli("sources", "poll", "--all", "--config", str(config))
    assert waiting.returncode == 0, waiting.stderr
    assert "Poll requested for wire, flaky: no running `newsmon run` took it yet" in waiting.stdout
    assert "newsmon crawl --source wire" in waiting.stdout
    status = run_cli("sources", "status", "--config", str(config))
    assert "poll requested 20" in status.stdout
    for bad in (["poll"], ["poll", "wire", "--all"], ["reset", "nobody"]):
        refused = run_cli("sources", *bad, "--config", str(config))
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
        assert "Error: " in refused.stderr


def test_sigterm_mid_pass_never_leaves_a_next_run_before_the_last(
    site, make_config, tmp_path: Path
) -> None:
    body = page("en_pentagon_ai.html")
    # Still downloading when SIGTERM comes, 6 s after it began, with 9 s to spare on a loaded
    # machine; the service then waits for it to end (Scrapy's graceful stop).
    slow = site.add("/slow", body.replace(b"Monday", b"Tuesday"), delay=15)
    links = [("quick", site.add("/quick", body)), ("slow", slow)]
    site.add("/feed.xml", rss2(links))
    config = make_config(
        [{"name": "slow", "url": site.url("/feed.xml"), "every": "1h"}],
        TOPICS,
        jitter=0,
        download_timeout=60,
    )
    log = tmp_path / "run.log"
    process = start(config, log)
    try:
        wait_for(lambda: site.hits.get("/slow", 0) >= 1, what="a slow download under way")
        time.sleep(6)  # the feed's outcome is written within 5 s of the feed
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
    finally:
        reap(process)
    with sqlite3.connect(tmp_path / "newsmon.db") as connection:
        last, following = connection.execute(
            "SELECT last_fetch_at, next_run_at FROM sources WHERE name = 'slow'"
        ).fetchone()
    assert last is not None and following is not None
    assert following >= last, (last, following)  # ISO strings in UTC: they sort as times
    status = run_cli("sources", "status", "--config", str(config))
    shown = re.findall(r"(?:last run|next run) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", status.stdout)
    assert len(shown) == 2 and shown[1] >= shown[0], status.stdout


def test_concurrent_passes_bounds_the_passes_running_at_once(
    site, make_config, tmp_path: Path
) -> None:
    """Four sources due at once, `concurrent_passes: 1`: their feeds, on one site, are never
    fetched two at a time; every source still gets its passes."""
    sources = []
    for n in range(4):
        site.add(f"/feed{n}.xml", rss2([]), delay=0.3)
        sources.append({"name": f"feed{n}", "url": site.url(f"/feed{n}.xml"), **FAST})
    config = make_config(sources, TOPICS, jitter=0, concurrent_passes=1)
    log = tmp_path / "run.log"
    process = start(config, log)
    try:
        for n in range(4):
            wait_for(lambda n=n: site.hits.get(f"/feed{n}.xml", 0) >= 2, what=f"feed{n}")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        reap(process)
    assert site.max_in_flight == 1
