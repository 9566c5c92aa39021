"""The fixed cost of a pass that finds nothing new: one source whose feed answers `304`.

Two measurements, each of the real command in a subprocess against a local server
(`bench.crawl_fixture.FastSite`), after a first pass that stored the feed's ETag:

- `newsmon crawl` of the unchanged feed, process start to exit (median of `REPEAT`);
- a pass inside `newsmon run`: the source polled every second with no jitter, so the time
  between two requests for its feed is one pass plus the one-second interval; the pass is
  that spacing less the interval (scheduler latency included), median over the passes after
  the first (which also pays the service's start-up).

`newsmon crawl` starts the extraction fork server as soon as it has sources (its imports then
overlap the crawl's): the machine's busy time over each run, every process counted, says what
that costs a crawl that extracts nothing.

Reference in the same run: `python -m crawler --help` (interpreter and CLI imports), the part
of the crawl's time no pass can save. Targets (issue 15, section 3): a pass inside
`newsmon run` <= 0.3 s wall, `newsmon crawl` of one unchanged feed <= 2 s wall.
Run: `python bench/run.py passes`.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.crawl_fixture import FastSite, crawl, write_config  # noqa: E402
from tests.outlets import rss2  # noqa: E402

NAME = "passes"
TARGET_RUN_PASS = 0.3  # seconds
TARGET_CRAWL = 2.0  # seconds
REPEAT = 5
INTERVAL = 1.0  # seconds: the source's `every` inside `newsmon run`
FORK_SERVER_DONE = 1.5  # seconds after a crawl: its fork server has finished its imports


class TimedSite(FastSite):
    """A FastSite that notes when each request for the feed arrived."""

    def __init__(self, feed_path: str) -> None:
        self.feed_path = feed_path
        self.feed_times: list[float] = []
        super().__init__()

    async def _handle(self, request):  # noqa: ANN001, ANN202 - aiohttp's types
        if request.path_qs == self.feed_path:
            self.feed_times.append(time.perf_counter())
        return await super()._handle(request)


def unchanged_feed(site: FastSite) -> list[dict[str, object]]:
    article = site.add(
        "/a/1",
        b"<html><body><article><p>" + b"word " * 200 + b"</p></article></body></html>",
    )
    url = site.add(
        "/feed.xml", rss2([("One", article)]), content_type="application/rss+xml", etag='"v1"'
    )
    return [{"name": "wire", "url": url, "every": f"{INTERVAL:.0f}s", "adaptive": False}]


def cli_start() -> tuple[float, float]:
    """Wall and CPU seconds of `newsmon --help`."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "crawler", "--help"], env=env, capture_output=True, check=True
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def machine_busy() -> float:
    """CPU seconds the machine has spent busy since boot, every process counted (/proc/stat):
    the crawl's own rusage leaves out the extraction fork server, which outlives it."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(field) for field in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def crawl_runs(tmp: Path, repeat: int) -> list[tuple[float, float, float]]:
    """Wall and CPU seconds of `newsmon crawl` of the unchanged feed, `repeat` times after a
    first pass, and the machine's busy seconds over each (until the fork server is done)."""
    site = FastSite()
    try:
        sources = unchanged_feed(site)
        config = write_config(tmp / "crawl", f"sqlite:///{tmp}/crawl.db", sources)
        crawl(config)  # stores the article and the feed's ETag
        walls = []
        for _ in range(repeat):
            busy = machine_busy()
            found = crawl(config)
            assert "not modified (304)" in found.output, found.output
            time.sleep(FORK_SERVER_DONE)
            walls.append((found.wall, found.cpu, machine_busy() - busy))
    finally:
        site.close()
    return walls


def run_pass_walls(tmp: Path, passes: int) -> tuple[list[float], str]:
    """Seconds of each of `passes` passes of `newsmon run` (the tail of one pass and the
    head of the next, as the spacing of their requests less the interval), and its log."""
    site = TimedSite("/feed.xml")
    log = tmp / "run.log"
    try:
        sources = unchanged_feed(site)
        config = write_config(tmp / "run", f"sqlite:///{tmp}/run.db", sources, jitter=0)
        crawl(config)  # as for the crawl: every pass of the service is a 304
        site.feed_times.clear()
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
        env["PYTHONPATH"] = str(REPO)
        command = [sys.executable, "-m", "crawler", "run", "--config", str(config)]
        process = subprocess.Popen(
            [*command, "--log-file", str(log)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120 + passes * 10
            while len(site.feed_times) < passes + 1:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"newsmon run: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        finally:
            process.terminate()
            process.wait(60)
    finally:
        site.close()
    times = site.feed_times
    spacings = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    return [spacing - INTERVAL for spacing in spacings], log.read_text(encoding="utf-8")


def run(quick: bool = False) -> list[dict[str, object]]:
    repeat = 1 if quick else REPEAT
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        start, start_cpu = cli_start()
        runs = crawl_runs(tmp, repeat)
        passes, log = run_pass_walls(tmp, 2 if quick else REPEAT + 1)
    crawl_wall = statistics.median(wall for wall, _, _ in runs)
    crawl_cpu = statistics.median(cpu for _, cpu, _ in runs)
    machine_cpu = statistics.median(busy for _, _, busy in runs)
    pass_wall = statistics.median(passes[1:] or passes)
    worker_lines = log.count("Extraction workers stopped")
    return [
        {
            "metric": "`newsmon crawl` of one unchanged feed (304)",
            "value": f"{crawl_wall:.2f} s wall",
            "reference": f"`newsmon --help` {start:.2f} s",
            "ratio": f"{crawl_wall / start:.2f}x",
            "target": f"<= {TARGET_CRAWL} s",
            "met": crawl_wall <= TARGET_CRAWL,
            "note": f"median of {len(runs)}: "
            + ", ".join(f"{wall:.2f}" for wall, _, _ in runs)
            + f"; CPU {crawl_cpu:.2f} s (median), {machine_cpu:.2f} s with the extraction "
            "fork server it starts (the machine's busy time, every process), "
            f"`newsmon --help` {start_cpu:.2f} s CPU; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        },
        {
            "metric": "a pass of one source answering 304 inside `newsmon run`",
            "value": f"{pass_wall:.3f} s wall",
            "target": f"<= {TARGET_RUN_PASS} s",
            "met": pass_wall <= TARGET_RUN_PASS,
            "note": "feed request spacing less the 1 s interval; median of passes 2 to "
            f"{len(passes) + 1}: "
            + ", ".join(f"{p:.2f}" for p in passes[1:] or passes)
            + f"; first {passes[0]:.2f}; workers stopped {worker_lines} times",
        },
    ]


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
