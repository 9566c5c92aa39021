"""A pass killed midway loses nothing and the next pass completes it; a store that cannot be
opened gives exit 1 and one readable line."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO, run_cli
from tests.outlets import TOPICS, page, rss2


def stored_urls(database: Path) -> list[str]:
    if not database.exists():
        return []
    with sqlite3.connect(database) as connection:
        try:
            return [row[0] for row in connection.execute("SELECT url FROM articles")]
        except sqlite3.OperationalError:  # schema not created yet
            return []


def test_killed_mid_pass_then_completed(site, make_config, tmp_path: Path) -> None:
    body = page("en_pentagon_ai.html")
    links = [
        (f"Story {n}", site.add(f"/s/{n}", body.replace(b"Monday", f"day {n}".encode()), delay=0.4))
        for n in range(10)
    ]
    site.add("/feed.xml", rss2(links), content_type="application/rss+xml", etag='"v1"')
    config = make_config(
        [{"name": "slow", "url": site.url("/feed.xml")}], TOPICS, concurrent_requests_per_host=1
    )
    database = tmp_path / "newsmon.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["PYTHONPATH"] = str(REPO)
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(stored_urls(database)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    before = stored_urls(database)
    assert 3 <= len(before) < 10, before
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # Each stored article came with its URLs and topics: one transaction per article.
        assert connection.execute(
            "SELECT count(*) FROM articles a WHERE NOT EXISTS "
            "(SELECT 1 FROM article_urls u WHERE u.article_id = a.id)"
        ).fetchone() == (0,)

    site.answer_at_once()  # the pass that completes need not wait 0.4 s for each page
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 0, result.stderr
    after = stored_urls(database)
    assert sorted(after) == sorted(url for _, url in links)  # completed, each once
    for url in before:  # what was stored is not downloaded again
        assert site.hits[url.removeprefix(site.base)] == 1


def test_unreachable_database_exits_1(site, make_config) -> None:
    site.add("/feed.xml", rss2([]))
    unreachable = "postgresql+psycopg://nobody:secret@127.0.0.1:1/nowhere"
    config = make_config([{"name": "a", "url": site.url("/feed.xml")}], database=unreachable)
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith("Error: storage: database postgresql+psycopg://nobody:***@")
    assert "secret" not in result.stderr and "Traceback" not in result.stderr
    assert site.hits == {}


def test_unwritable_sqlite_path_exits_1(site, make_config, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    config = make_config(
        [{"name": "a", "url": site.url("/feed.xml")}],
        database=f"sqlite:///{tmp_path / 'file' / 'db.sqlite'}",
    )
    # A command that writes: one that only reads says the store is missing (exit 2).
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Error: storage:" in result.stderr
