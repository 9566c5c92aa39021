"""Memory of a long `newsmon run`: resident memory after warm-up and after at least 500
scheduled passes against local fixture sites with one-second intervals.

Target: growth under 30 MB after warm-up. Run: `python bench/run.py scheduler_memory`.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.config_files import yaml_text  # noqa: E402
from tests.outlets import page, rss2  # noqa: E402 - the fixture sites of the test suite
from tests.sites import Site  # noqa: E402

NAME = "scheduler_memory"
SOURCES = 10


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def run(quick: bool = False) -> list[dict[str, object]]:
    passes_wanted, warm_up = (60, 20) if quick else (500, 100)
    sites = [Site() for _ in range(SOURCES)]
    body = page("en_pentagon_ai.html")
    stop = threading.Event()

    def publish() -> None:  # a new article on one site every half second, round robin
        number = 0
        while not stop.wait(0.5):
            site = sites[number % SOURCES]
            links = [(f"s{n}", site.url(f"/s/{n}")) for n in range(max(0, number - 20), number + 1)]
            site.add(f"/s/{number}", body.replace(b"Monday", f"day {number}".encode()))
            site.add("/feed.xml", rss2(links[-20:]), content_type="application/rss+xml")
            number += 1

    for site in sites:
        site.add("/feed.xml", rss2([]), content_type="application/rss+xml")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        config.mkdir()
        settings = {
            "database": f"sqlite:///{tmp}/newsmon.db",
            "allow_private_networks": True,
            "download_delay": 0,
            "autothrottle": False,
            "jitter": 0,
        }
        sources = [
            {"name": f"site{n}", "url": site.url("/feed.xml"), "every": "1s", "adaptive": False}
            for n, site in enumerate(sites)
        ]
        (config / "settings.yaml").write_text(yaml_text(settings))
        (config / "sources.yaml").write_text(yaml_text({"sources": sources}))
        (config / "topics.yaml").write_text((REPO / "config" / "topics.yaml").read_text())
        log = Path(tmp) / "run.log"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crawler",
                "run",
                "--config",
                str(config),
                "--log-file",
                str(log),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        started = time.monotonic()
        warm_rss = peak = 0.0
        passes = 0
        try:
            while passes < passes_wanted:
                time.sleep(0.5)
                assert process.poll() is None, "newsmon run exited early"
                passes = log.read_text().count("INFO newsmon.run: Source ") if log.exists() else 0
                current = rss_mb(process.pid)
                peak = max(peak, current)
                if not warm_rss and passes >= warm_up:
                    warm_rss = current
            end_rss = rss_mb(process.pid)
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
            for site in sites:
                site.close()
        with sqlite3.connect(Path(tmp) / "newsmon.db") as connection:
            stored = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    growth = end_rss - warm_rss
    return [
        {"metric": f"RSS after {warm_up} passes (warm-up)", "value": f"{warm_rss:.0f} MB"},
        {
            "metric": f"RSS after {passes} passes",
            "value": f"{end_rss:.0f} MB",
            "reference": f"warm-up {warm_rss:.0f} MB",
            "ratio": f"+{growth:.1f} MB",
            "target": "growth < 30 MB",
            "met": growth < 30,
        },
        {"metric": "peak RSS", "value": f"{peak:.0f} MB"},
        {
            "metric": "passes per second",
            "value": f"{passes / elapsed:.1f}",
            "reference": f"{SOURCES} sources every 1 s",
            "note": f"{stored} articles stored",
        },
    ]
