"""Nothing is lost: a link is done only when its article is stored or dropped on purpose.

Each fault of the reliability issue, for real: an extraction worker killed with SIGKILL, a
SQLite file on a full filesystem (a 1.5 MB tmpfs), a PostgreSQL server restarted in the middle
of a pass, Ctrl-C and SIGTERM of `newsmon crawl`, articles answering 503 or failing DNS. In
each case, once the fault is gone, one more pass stores every article exactly once; meanwhile
the summary, `sources status` and the exit code say what happened.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crawler.store.database import engine_for
from crawler.store.owed import OwedLink, OwedLinks, retry_delay
from tests.conftest import REPO, run_cli
from tests.outlets import TOPICS, corpus_page, free_port, rss2
from tests.processes import children, wait_for
from tests.sites import Site


def articles_at(
    site: Site, count: int, delay: float = 0.0, lang: str = "en"
) -> list[tuple[str, str]]:
    """`count` distinct real articles of the corpus on `site`, as (title, URL) feed items."""
    items = []
    for n in range(count):
        _, body = corpus_page(lang, n)
        items.append((f"Story {n}", site.add(f"/story/{n}", body, delay=delay)))
    return items


def stored(database: str) -> Counter[str]:
    """Stored articles by the link that led to them (every URL of each article)."""
    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            rows = (
                connection.execute(
                    text("SELECT u.url FROM article_urls u JOIN articles a ON a.id = u.article_id")
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    return Counter(rows)


def article_count(database: str) -> int:
    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM articles")).scalar_one()
    except Exception:  # the schema is not there yet
        return 0
    finally:
        engine.dispose()


def start_crawl(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--config", str(config), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def reap(process: subprocess.Popen[str]) -> None:
    """Kill a crawl left running by a failed assertion, and close its pipes."""
    if process.returncode is None:
        process.kill()
        process.communicate(timeout=30)


def all_links_stored_once(database: str, items: list[tuple[str, str]]) -> None:
    urls = stored(database)
    assert article_count(database) == len(items)
    for _, url in items:
        assert urls[url] == 1, url


# --- the back-off arithmetic and the table ----------------------------------------------


def test_retry_delay_next_pass_then_doubling_capped() -> None:
    assert retry_delay(1, 900, 86400) == 0  # the first retry: at the next pass
    assert [retry_delay(n, 900, 86400) for n in (2, 3, 4)] == [900, 1800, 3600]
    assert retry_delay(30, 900, 86400) == 86400
    assert retry_delay(10_000, 900, 86400) == 86400  # no overflow


def test_owed_links_attempts_give_up_and_drop(tmp_path: Path) -> None:
    owed = OwedLinks(engine_for(f"sqlite:///{tmp_path / 'x.db'}"), attempts=2, backoff=60, cap=3600)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    link = OwedLink("http://a.example/1", "a", "One", None, "en", author="Jane Doe")
    owed.attempt([link], now)
    (row,) = owed.due("a", now).copy()
    # The entry's title, language and author come back with the link, for a retry without
    # its feed that is extracted as the first attempt was.
    assert (row.attempts, row.title, row.language, row.author) == (1, "One", "en", "Jane Doe")
    owed.failed([(link.url, "HTTP 503")], now)
    assert owed.owing(["a", "b"]) == {"a"}
    owed.attempt([row], now + timedelta(seconds=1))
    assert owed.due("a", now + timedelta(seconds=30)) == []  # waiting 60 s
    owed.failed([(link.url, "HTTP 503")], now)  # second of two attempts: given up
    (row,) = owed.lookup([link.url]).values()
    assert row.gave_up_at is not None and row.done and row.last_error == "HTTP 503"
    assert owed.owing(["a"]) == set()
    debt = owed.debts()["a"]
    assert (debt.owed, debt.gave_up, debt.last_error) == (0, 1, "HTTP 503")

    other = OwedLink("http://a.example/2", "a")
    owed.attempt([other], now)
    owed.drop([(other.url, "HTTP 404")], now)
    assert owed.lookup([other.url])[other.url].dropped_at is not None
    assert owed.owing(["a"]) == set()
    owed.drop([], now + timedelta(days=91))
    owed.drop([("http://unknown/", "x")], now + timedelta(days=91))
    assert owed.lookup([link.url, other.url]) == {}  # forgotten after 90 days


# --- faults during a real crawl ---------------------------------------------------------


def test_failed_articles_make_a_degraded_pass_owed_then_given_up(site, make_config) -> None:
    """503 articles and a host that does not resolve: "degraded", never "ok"; owed with a
    count of attempts; given up after `link_attempts`, with the reason in `sources status`."""
    items = articles_at(site, 2)
    site.add("/down", b"busy", status=503)
    items.append(("Down", site.url("/down")))
    items.append(("Nowhere", "http://newsmon-test.invalid/story"))
    site.add("/feed.xml", rss2(items), content_type="application/rss+xml", etag='"v1"')
    config = make_config([{"name": "wire", "url": site.url("/feed.xml")}], TOPICS, link_attempts=2)
    database = f"sqlite:///{config.parent / 'newsmon.db'}"

    first = run_cli("crawl", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "Sources: 0 ok, 1 degraded, 0 failed" in first.stdout, first.stdout
    assert "wire: degraded, 4 entries, 4 new; 2 of 4 articles failed" in first.stdout
    assert "2 owed to the next pass" in first.stdout
    status = run_cli("sources", "status", "--config", str(config)).stdout
    assert "wire [DEGRADED]" in status, status
    assert "2 of 4 articles failed" in status and "owed links: 2" in status, status
    hits = site.hits["/down"]

    second = run_cli("crawl", "--config", str(config))  # the feed did not change
    assert "wire: degraded, 4 entries, 0 new, 2 owed retried; 2 of 2 articles failed" in (
        second.stdout
    ), second.stdout
    assert site.hits["/down"] > hits
    status = run_cli("sources", "status", "--config", str(config)).stdout
    assert "gave up: 2 link(s)" in status, status  # two attempts each: given up

    hits = site.hits["/down"]
    third = run_cli("crawl", "--config", str(config))  # owes nothing now: ok, validators saved
    assert "wire: ok, 4 entries, 0 new" in third.stdout, third.stdout
    assert site.hits["/down"] == hits
    fourth = run_cli("crawl", "--config", str(config))
    assert "wire: ok, not modified (304)" in fourth.stdout, fourth.stdout
    assert stored(database)[items[0][1]] == 1


def test_killed_extraction_worker_costs_a_retry_of_its_pages(site, make_config) -> None:
    """SIGKILL of one extraction worker mid-crawl: every page queued in the pool is extracted
    again by new workers; every article is stored, each once, in the same pass."""
    items = articles_at(site, 40, delay=0.05)
    site.add("/feed.xml", rss2(items), content_type="application/rss+xml")
    config = make_config(
        [{"name": "wire", "url": site.url("/feed.xml")}], TOPICS, extract_workers=2
    )
    database = f"sqlite:///{config.parent / 'newsmon.db'}"
    process = start_crawl(config)
    try:
        wait_for(lambda: article_count(database) >= 3)
        workers = [pid for server in children(process.pid) for pid in children(server)]
        assert workers, "no extraction worker found"
        os.kill(workers[0], signal.SIGKILL)
        out, err = process.communicate(timeout=120)
    finally:
        reap(process)
    assert process.returncode == 0, err
    assert "An extraction worker died" in err
    all_links_stored_once(database, items)
    assert "wire: ok, 40 entries, 40 new" in out, out

    again = run_cli("crawl", "--config", str(config))
    assert "Articles: 0 new" in again.stdout and "unchanged (same body)" in again.stdout


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1.5 MB filesystem (tmpfs), enlarged by `enlarge`. Needs root, as CI has."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1500k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def enlarge(mount: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)


def test_full_disk_then_enlarged_stores_every_article_once(site, make_config, small_disk) -> None:
    items = articles_at(site, 60)
    site.add("/feed.xml", rss2(items), content_type="application/rss+xml", etag='"v1"')
    database = f"sqlite:///{small_disk / 'newsmon.db'}"
    config = make_config(
        [{"name": "wire", "url": site.url("/feed.xml")}], TOPICS, database=database
    )

    first = run_cli("crawl", "--config", str(config))
    assert first.returncode == 1, first.stdout  # storage failed
    assert "database or disk is full" in first.stdout + first.stderr
    assert "wire: degraded" in first.stdout and "Sources: 0 ok, 1 degraded" in first.stdout
    kept = article_count(database)
    assert kept < len(items)
    # Hits count stored articles only.
    hits = int(first.stdout.split("Hits: ai-military ")[1].split(",")[0])
    engine = create_engine(database)
    with engine.connect() as connection:
        tagged = connection.execute(
            text("SELECT count(*) FROM article_topics WHERE topic = 'ai-military'")
        ).scalar_one()
    engine.dispose()
    assert hits == tagged

    enlarge(small_disk)
    second = run_cli("crawl", "--config", str(config))
    assert second.returncode == 0, second.stderr
    assert "unchanged (same body)" not in second.stdout and "not modified" not in second.stdout
    all_links_stored_once(database, items)
    status = run_cli("sources", "status", "--config", str(config)).stdout
    assert "DEGRADED" not in status and "owed links" not in status, status


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, Callable[[], None]]]:
    """A PostgreSQL server of this test's own (initdb on a free port), so that it can be
    restarted without disturbing the shared one. Needs the server binaries and root (to run
    them as `postgres`), as CI has."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert binaries, "PostgreSQL server binaries not installed (apt-get install postgresql)"
    bin_dir = binaries[-1].parent
    home = Path(tempfile.mkdtemp(prefix="newsmon-pg-"))  # outside pytest's private tmp
    shutil.chown(home, "postgres", "postgres")
    data = home / "data"
    port = free_port()

    def as_postgres(*command: str, check: bool = True) -> None:
        # Not captured: the server that pg_ctl starts would hold the pipe open.
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    as_postgres(str(bin_dir / "initdb"), "-A", "trust", "-U", "postgres", "-D", str(data))
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w"]
    as_postgres(*ctl, "start", "-l", str(home / "server.log"))
    try:
        yield (
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
            lambda: as_postgres(*ctl, "restart", "-m", "fast"),
        )
    finally:
        as_postgres(*ctl, "stop", "-m", "immediate", check=False)
        shutil.rmtree(home, ignore_errors=True)


def test_postgresql_restarted_mid_pass_stores_all_once(site, make_config, own_postgres) -> None:
    database, restart = own_postgres
    items = articles_at(site, 30, delay=0.15)
    site.add("/feed.xml", rss2(items), content_type="application/rss+xml", etag='"v1"')
    config = make_config(
        [{"name": "wire", "url": site.url("/feed.xml")}],
        TOPICS,
        database=database,
        concurrent_requests_per_host=1,
    )
    process = start_crawl(config)
    try:
        wait_for(lambda: article_count(database) >= 4)
        restart()
        out, err = process.communicate(timeout=180)
    finally:
        reap(process)
    assert process.returncode in (0, 1), err
    assert "Traceback" not in out
    # The restart cost the pass articles (unless every write fell outside it): owed, said so.
    assert process.returncode == 0 or "degraded" in out, out

    site.answer_at_once()  # the pass that completes need not wait 0.15 s for each page
    second = run_cli("crawl", "--config", str(config))
    assert second.returncode == 0, second.stderr
    all_links_stored_once(database, items)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_crawl_says_so_and_owes_the_rest(site, make_config, signum) -> None:
    items = articles_at(site, 40, delay=0.2)  # more than the 16 requests Scrapy drains
    site.add("/feed.xml", rss2(items), content_type="application/rss+xml", etag='"v1"')
    config = make_config(
        [{"name": "wire", "url": site.url("/feed.xml")}], TOPICS, concurrent_requests_per_host=1
    )
    database = f"sqlite:///{config.parent / 'newsmon.db'}"
    process = start_crawl(config)
    try:
        # Mid-pass by the downloads (3 of 40 pages requested, one at a time, 0.2 s each), not
        # by stored articles: on a loaded machine extraction may lag until every page is in.
        wait_for(lambda: sum(n for p, n in site.hits.items() if p.startswith("/story/")) >= 3)
        process.send_signal(signum)
        out, err = process.communicate(timeout=120)
    finally:
        reap(process)
    assert process.returncode == 128 + signum, (out, err)
    assert "1 interrupted" in out and "wire: interrupted" in out, out
    assert "owed to the next pass" in out
    assert f"Interrupted by {signal.Signals(signum).name}" in err
    status = run_cli("sources", "status", "--config", str(config)).stdout
    assert "INTERRUPTED" in status and "(ok)" not in status, status

    site.answer_at_once()  # the pass that completes need not wait 0.2 s for each page
    again = run_cli("crawl", "--config", str(config))
    assert again.returncode == 0, again.stderr
    all_links_stored_once(database, items)


def test_sqlite_row_of_owed_link_survives_kill(site, make_config, tmp_path: Path) -> None:
    """The debt is written before the page is requested: after SIGKILL of the whole crawl,
    the links it requested and did not store are owed rows with one attempt."""
    items = articles_at(site, 10, delay=0.5)
    site.add("/feed.xml", rss2(items), content_type="application/rss+xml")
    config = make_config(
        [{"name": "wire", "url": site.url("/feed.xml")}], TOPICS, concurrent_requests_per_host=1
    )
    database = config.parent / "newsmon.db"
    process = start_crawl(config)
    try:
        wait_for(lambda: article_count(f"sqlite:///{database}") >= 1)
        process.send_signal(signal.SIGKILL)
    finally:
        reap(process)
    with sqlite3.connect(database) as connection:
        owed = connection.execute(
            "SELECT count(*), min(attempts) FROM owed_links WHERE dropped_at IS NULL"
        ).fetchone()
        stored_count = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert owed[0] + stored_count == len(items) and owed[1] == 1
