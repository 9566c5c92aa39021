"""What the crawl benchmarks share: a fast fixture site and a measured `newsmon crawl`.

`FastSite` is one aiohttp server on 127.0.0.1 in a thread. `tests.sites.Site` starts a thread
per request, which is fine for tests but makes the server the bottleneck when a benchmark
polls 10,000 feeds; this one answers from a dict in an event loop. A path answers its page,
or `304` when the request's `If-None-Match` is its ETag.

`crawl` runs `python -m crawler crawl` as a subprocess (process start to exit) and returns
its wall time, CPU time (from `wait4`) and peak resident memory (VmHWM, read every 50 ms).
With `NEWSMON_BENCH_PROFILE=PREFIX`, each crawl runs under py-spy, which writes
PREFIX-NAME.txt (`python bench/spy_summary.py PREFIX-NAME.txt` sums it up).
Not a benchmark itself (not in `BENCHMARKS`).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from tests.config_files import yaml_text


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None


class FastSite:
    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.hits = 0
        self.not_modified = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        page = self.pages.get(request.path_qs)
        if page is None:
            return web.Response(status=404, body=b"<html><body>Not found</body></html>")
        if page.etag and request.headers.get("If-None-Match") == page.etag:
            self.not_modified += 1
            return web.Response(status=304, headers={"ETag": page.etag})
        headers = {"Content-Type": page.content_type}
        if page.etag:
            headers["ETag"] = page.etag
        return web.Response(body=page.body, headers=headers)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(
        self,
        path: str,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        etag: str | None = None,
    ) -> str:
        self.pages[path] = Page(body, content_type, etag)
        return self.url(path)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


REPO = Path(__file__).resolve().parents[1]
# Politeness off and wide concurrency: a benchmark against one local host, not a real site.
FAST_SETTINGS = {
    "allow_private_networks": True,
    "download_delay": 0,
    "autothrottle": False,
    "obey_robots_txt": False,
    "concurrent_requests": 32,
    "concurrent_requests_per_host": 32,
    "retry_times": 0,
    "download_timeout": 60,
}


@dataclass
class CrawlRun:
    wall: float  # seconds, process start to exit
    cpu: float  # user + system seconds of the crawl process
    peak_rss_mb: float  # the crawl process's own
    peak_tree_mb: float  # the crawl and its extraction workers: the most their PSS summed to
    output: str  # the crawl's summary and log


def write_config(
    directory: Path, database: str, sources: list[dict[str, object]], **settings: object
) -> Path:
    """A config directory with the shipped topics and the given sources."""
    directory.mkdir(parents=True, exist_ok=True)
    values = {"database": database, **FAST_SETTINGS, **settings}
    (directory / "settings.yaml").write_text(yaml_text(values), encoding="utf-8")
    (directory / "sources.yaml").write_text(yaml_text({"sources": sources}), encoding="utf-8")
    topics = (REPO / "config" / "topics.yaml").read_text(encoding="utf-8")
    (directory / "topics.yaml").write_text(topics, encoding="utf-8")
    return directory


def crawl(config: Path, log_level: str = "WARNING", timeout: float = 1800) -> CrawlRun:
    """`newsmon crawl --config DIR`, measured; raises if it fails."""
    log = config / "crawl.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [
        sys.executable,
        "-m",
        "crawler",
        "crawl",
        "--config",
        str(config),
        "--log-level",
        log_level,
    ]
    if profile := os.environ.get("NEWSMON_BENCH_PROFILE"):
        # py-spy samples the crawl and its workers (collapsed stacks; bench/spy_summary.py
        # sums them up): its own cost then counts in the measured times.
        command = [
            "py-spy",
            "record",
            "--format",
            "raw",
            "--subprocesses",
            "--rate",
            "50",
            "-o",
            f"{profile}-{config.name}.txt",
            "--",
            *command,
        ]
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=config
        )
        deadline = started + timeout
        peak_kb = tree_kb = 0
        while True:
            peak_kb = max(peak_kb, _high_water_kb(process.pid))
            tree_kb = max(tree_kb, _tree_pss_kb(process.pid))
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                raise TimeoutError(f"newsmon crawl still running after {timeout:.0f} s")
            time.sleep(0.05)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_text(encoding="utf-8", errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"newsmon crawl exited {process.returncode}: {output[-2000:]}")
    return CrawlRun(wall, usage.ru_utime + usage.ru_stime, peak_kb / 1024, tree_kb / 1024, output)


def _tree_pss_kb(pid: int) -> int:
    """Proportional set size of a process and all its descendants, summed: memory shared by
    the extraction workers and their fork server counts once, split between them."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += map(int, (task / "children").read_text().split())
        except OSError:  # exited meanwhile
            continue
    return total


def _high_water_kb(pid: int) -> int:
    """Peak resident memory of the process so far (VmHWM). Not `ru_maxrss`: that survives
    exec, so it reports this benchmark process's own size at the fork when it is larger."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:  # exited meanwhile
        pass
    return 0
