"""The distributed mode against one process: polling 10,000 feeds (bench/polling.py's fixture:
`bench.crawl_fixture.FastSite`, 90% answering `304`, 10% changed with 5 new articles each, the
store filled beforehand) on PostgreSQL, each run in a fresh schema of the `test` database
(dropped afterwards) and with queues of its own on the local RabbitMQ (deleted afterwards).

Measured in one run, on the same feeds and the same kind of store:
- `newsmon crawl`: one pass over every feed, one crawler (process start to exit);
- `newsmon run`: every source due at once (`every: 1d`, no jitter, not adaptive, so each is
  polled exactly once in the window), one crawler per pass, as the distributed mode runs them;
  `concurrent_passes` at once (the workers' `worker_concurrency`);
- `newsmon schedule` with 1, then 2 `newsmon worker` processes (`worker_concurrency` passes
  each). The workers start first and register; the clock starts when the scheduler starts and
  stops when the store's `sources.last_fetch_at` is set for every feed. The rate is also
  given over the window between the first and the last pass's `last_fetch_at` (start-up of
  the scheduler left out).
CPU is each process tree's (the process and its extraction workers), read from /proc before
it is stopped; the machine's busy share over the window and the load average are given too:
the fixture server, PostgreSQL and RabbitMQ share the same 2 cores.

The queue's cost per pass: a PassRequest published with confirm, taken by a consumer with
prefetch 64 that publishes a PassResult with confirm and acknowledges, the result consumed:
the CPU of both ends (one process) per pass and the round trip of one pass at a time, against
the CPU per pass of `newsmon run` measured above.

Run: `python bench/run.py distributed` (10,000 feeds), or `python bench/distributed.py --feeds
2000 [--concurrency 32]` for a shorter run (prints the rows, writes no results).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.crawl_fixture import FastSite, crawl, write_config  # noqa: E402
from bench.polling import CHANGED_SHARE, NEW, prepare  # noqa: E402
from crawler.store.database import engine_for  # noqa: E402
from tests.distributed import BROKER, delete_queues  # noqa: E402

NAME = "distributed"
FEEDS = 10_000
# `newsmon run` runs `concurrent_passes` passes at once, set to the workers' concurrency: the
# same number of crawls in flight per process. (Before that setting it started every due pass
# at once: with 10,000 due together it ended no pass in 90 s and held 1.8 GB.)
RUN_FEEDS = FEEDS
# Passes are one feed each, mostly one 304: a worker wants several in flight to keep its core
# busy while each waits on HTTP and the store. Its sources' locks share one connection; the
# passes share the store's pool (5 + 10 overflow) for their short transactions.
CONCURRENCY = 16
TARGET_SCALING = 1.7
POSTGRES = os.environ.get("NEWSMON_TEST_POSTGRES", "postgresql+psycopg://root@127.0.0.1:5432/test")

TICK = os.sysconf("SC_CLK_TCK")
STALLED = 180  # seconds without a pass ending: the run failed (see its log)


# --- the store and the queues of one run -------------------------------------------------


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A database URL on a new schema of `test`, dropped afterwards."""
    schema = f"newsmon_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def prepared(site: FastSite, database: str, feeds: int) -> list[dict[str, object]]:
    """bench.polling's store, on PostgreSQL: the sequence of article ids moved past the ids
    inserted (SQLite picks max + 1 by itself, PostgreSQL's sequence does not)."""
    sources = prepare(site, database, feeds)
    engine = engine_for(database)
    with engine.begin() as connection:
        connection.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('articles', 'id'), "
                "(SELECT coalesce(max(id), 0) + 1 FROM articles), false)"
            )
        )
    engine.dispose()
    # Polled once in the window: a long interval, every source due at once, never adapted.
    return [{**source, "adaptive": False} for source in sources]


def query(database: str, sql: str) -> tuple:
    engine = create_engine(database, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return tuple(connection.execute(text(sql)).one())
    finally:
        engine.dispose()


# --- processes -----------------------------------------------------------------------------


def start(config: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["PYTHONPATH"] = str(REPO)
    command = [sys.executable, "-m", "crawler", *args, "--config", str(config)]
    command += ["--log-level", "WARNING"]  # INFO would be a line per pass in each process
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=config)


def tree_cpu(pid: int) -> float:
    """User + system seconds of a process and its living descendants (extraction workers)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += map(int, (task / "children").read_text().split())
        except OSError:  # exited meanwhile
            continue
    return total


# The services the passes use besides newsmon's own processes, by process name.
SERVICES = {"postgres": "PostgreSQL", "beam.smp": "RabbitMQ"}


def services_cpu() -> dict[str, float]:
    """User + system seconds of the running PostgreSQL and RabbitMQ processes, and of this
    process (the fixture server's threads). A PostgreSQL backend that ends in between takes its
    seconds with it: the store connections of the measured processes live as long as they."""
    totals = dict.fromkeys([*SERVICES.values(), "fixture server"], 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, rest = (entry / "stat").read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, ValueError):
            continue
        if name in SERVICES:
            fields = rest.split()
            totals[SERVICES[name]] += (int(fields[11]) + int(fields[12])) / TICK
    usage = os.times()
    totals["fixture server"] = usage.user + usage.system
    return totals


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_polled(
    database: str, feeds: int, processes: list[subprocess.Popen[bytes]], timeout: float
) -> tuple[int, float]:
    """Until every source has a `last_fetch_at`: (sources polled, seconds between the first
    and the last pass's `last_fetch_at`). Raises if a process exits or time runs out."""
    deadline = time.monotonic() + timeout
    last, moved = -1, time.monotonic()
    sql = (
        "SELECT count(*), extract(epoch FROM max(last_fetch_at) - min(last_fetch_at)) "
        "FROM sources WHERE last_fetch_at IS NOT NULL"
    )
    while True:
        polled, span = query(database, sql)
        if polled >= feeds:
            return polled, float(span or 0.0)
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[3]} exited {process.returncode}")
        if polled != last:
            last, moved = polled, time.monotonic()
        if time.monotonic() > deadline or time.monotonic() - moved > STALLED:
            raise TimeoutError(f"{polled} of {feeds} sources polled; stalled or out of time")
        time.sleep(0.5)


def service(folder: Path, feeds: int, workers: int | None, concurrency: int) -> dict[str, float]:
    """`newsmon run` (workers None) or `newsmon schedule` + `workers` workers over `feeds`."""
    label = "run" if workers is None else f"workers-{workers}"
    prefix = f"newsmon_bench_{uuid.uuid4().hex[:10]}"
    site = FastSite()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with fresh_schema() as database:
            sources = prepared(site, database, feeds)
            known = query(database, "SELECT count(*) FROM articles")[0]
            config = write_config(
                folder / label,
                database,
                sources,
                every="1d",
                jitter=0,
                broker=BROKER,
                broker_queue=prefix,
                worker_concurrency=concurrency,
                concurrent_passes=concurrency,
                # The fixture serves every feed from one host, which real feeds are not on:
                # with the workers' per-host limit shared, 32 would measure politeness (every
                # pass queueing for that host's places), not capacity. Measured at 32, 2,000
                # feeds: 1.16x with 2 workers; without the limit in the way: 1.47x.
                concurrent_requests_per_host=1000,
            )
            log = folder / f"{label}.log"
            if workers is not None:
                for number in range(workers):
                    processes.append(start(config, log, "worker", "--name", f"bench-{number}"))
                registered = "SELECT count(*) FROM workers"
                ready = time.monotonic() + 120
                while query(database, registered)[0] < workers:
                    assert time.monotonic() < ready, f"workers not registered: {log.read_text()}"
                    time.sleep(0.2)
            busy_before, services_before = machine_busy(), services_cpu()
            started = time.perf_counter()
            main = start(config, log, "run" if workers is None else "schedule")
            processes.insert(0, main)
            polled, span = wait_polled(database, feeds, processes, timeout=max(600, feeds / 5))
            wall = time.perf_counter() - started
            busy_after, services_after = machine_busy(), services_cpu()
            cpus = [tree_cpu(process.pid) for process in processes]
            load = os.getloadavg()[0]
            for process in processes:
                stop(process)
            new, distinct = query(database, "SELECT count(*), count(DISTINCT url) FROM articles")
            workers_seen = query(database, "SELECT count(DISTINCT last_worker) FROM sources")[0]
    finally:
        for process in processes:
            stop(process)
        site.close()
        if workers is not None:
            delete_queues(prefix)
    busy = (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1)
    found = {
        "wall": wall,
        "span": span,
        "polled": polled,
        "main_cpu": cpus[0],
        "workers_cpu": sum(cpus[1:]),
        "new": new - known,
        "twice": new - distinct,
        "busy": busy,
        "load": load,
        "workers_seen": workers_seen,
        "requests": site.hits,
        "services": {k: services_after[k] - services_before[k] for k in services_after},
    }
    print(f"# {label}: {found}", file=sys.stderr, flush=True)  # kept if a later part fails
    return found


def single_crawl(folder: Path, feeds: int) -> dict[str, float]:
    site = FastSite()
    try:
        with fresh_schema() as database:
            sources = prepared(site, database, feeds)
            config = write_config(folder / "crawl", database, sources)
            result = crawl(config)
    finally:
        site.close()
    return {"wall": result.wall, "cpu": result.cpu}


# --- the queue alone -----------------------------------------------------------------------


async def queue_round_trips(passes: int) -> dict[str, float]:
    """Both ends of the queue in this process, crawling nothing: CPU per pass with 64 in
    flight, and the round trip of one pass at a time (median)."""
    from crawler.schedule.broker import Broker, PassRequest, PassResult

    prefix = f"newsmon_bench_{uuid.uuid4().hex[:10]}"
    scheduler = Broker(BROKER, prefix, "bench scheduler")
    worker = Broker(BROKER, prefix, "bench worker")
    await scheduler.connect(prefetch=64)
    await worker.connect(prefetch=64)
    waiting: dict[str, asyncio.Future[None]] = {}

    async def on_request(message) -> None:
        request = PassRequest.from_body(message.body)
        result = PassResult(request.id, request.source, "bench", "done", {"status": "ok"})
        await worker.publish(worker.results, result.body(), result.id)
        await message.ack()

    async def on_result(message) -> None:
        result = PassResult.from_body(message.body)
        await message.ack()
        waiting.pop(result.id).set_result(None)

    async def one(number: int) -> None:
        request = PassRequest(f"feed-{number}", "0" * 64)
        waiting[request.id] = asyncio.get_running_loop().create_future()
        done = waiting[request.id]
        await scheduler.publish(scheduler.passes, request.body(), request.id)
        await done

    try:
        await worker.consume(worker.passes, on_request)
        await scheduler.consume(scheduler.results, on_result)
        await asyncio.gather(*(one(n) for n in range(100)))  # warm up
        cpu, began = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(passes)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - began
        trips = []
        for number in range(200):
            began = time.perf_counter()
            await one(number)
            trips.append(time.perf_counter() - began)
    finally:
        await scheduler.close()
        await worker.close()
        await asyncio.to_thread(delete_queues, prefix)  # asyncio.run of its own
    return {"cpu": cpu / passes, "rate": passes / wall, "trip": statistics.median(trips)}


# --- the rows ------------------------------------------------------------------------------


def run(quick: bool = False, feeds: int | None = None, concurrency: int = CONCURRENCY):
    # $NEWSMON_BENCH_FEEDS: a shorter run through bench/run.py (the rows name the size).
    feeds = feeds or (60 if quick else int(os.environ.get("NEWSMON_BENCH_FEEDS") or FEEDS))
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        reference = single_crawl(folder, feeds)
        one_process = service(folder, min(feeds, RUN_FEEDS), None, concurrency)
        one = service(folder, feeds, 1, concurrency)
        two = service(folder, feeds, 2, concurrency)
    queue = asyncio.run(queue_round_trips(200 if quick else 5_000))
    rows.append(
        {
            "metric": f"`newsmon crawl`, {feeds:,} feeds (feeds/s)",
            "value": f"{feeds / reference['wall']:.0f}",
            "note": f"{reference['wall']:.1f} s wall, {reference['cpu']:.1f} s CPU; one crawler "
            "for all feeds, process start to exit",
        }
    )
    rates = {}
    run_feeds = min(feeds, RUN_FEEDS)
    for label, found in (
        ("`newsmon run`", one_process),
        ("schedule + 1 worker", one),
        (
            "schedule + 2 workers",
            two,
        ),
    ):
        size = run_feeds if label == "`newsmon run`" else feeds
        rate = rates[label] = size / found["wall"]
        steady = (size - 1) / found["span"] if found["span"] else 0.0
        cpu = found["main_cpu"] + found["workers_cpu"]
        split = (
            f"{found['main_cpu']:.1f} s scheduler + {found['workers_cpu']:.1f} s workers"
            if label != "`newsmon run`"
            else f"{cpu:.1f} s"
        )
        rows.append(
            {
                "metric": f"{label}, {size:,} feeds (feeds/s)",
                "value": f"{rate:.0f}",
                "note": f"{found['wall']:.1f} s from start to the last pass "
                f"({steady:.0f}/s between the first and last pass); CPU {split} "
                f"({cpu / size * 1000:.1f} ms per feed); {found['new']:.0f} of "
                f"{len(range(0, size, CHANGED_SHARE)) * NEW} new "
                f"articles stored, {found['twice']:.0f} twice; machine {found['busy']:.0%} busy, "
                f"load {found['load']:.1f}; CPU per feed of "
                + ", ".join(
                    f"{name} {seconds / size * 1000:.1f} ms"
                    for name, seconds in found["services"].items()
                ),
            }
        )
    scaling = rates["schedule + 2 workers"] / rates["schedule + 1 worker"]
    rows.append(
        {
            "metric": "scaling, 2 workers / 1 worker",
            "value": f"{scaling:.2f}x",
            "reference": f"`newsmon run` {rates['`newsmon run`']:.0f}/s",
            "ratio": f"{rates['schedule + 2 workers'] / rates['`newsmon run`']:.2f}x",
            "target": f">= {TARGET_SCALING}x",
            "met": scaling >= TARGET_SCALING,
            "note": f"worker_concurrency {concurrency}; ratio: 2 workers against `newsmon run` "
            f"on {run_feeds:,} feeds (concurrent_passes {concurrency})",
        }
    )
    run_cpu = one_process["main_cpu"] / run_feeds
    rows.append(
        {
            "metric": "queue's CPU per pass (publish, deliver, result, acks; both ends)",
            "value": f"{queue['cpu'] * 1000:.2f} ms",
            "reference": f"`newsmon run` {run_cpu * 1000:.1f} ms per pass",
            "ratio": f"{queue['cpu'] / run_cpu:.2f}x",
            "note": f"{queue['rate']:.0f} passes/s through the queue alone, 64 in flight; "
            f"round trip of one pass at a time {queue['trip'] * 1000:.1f} ms (median of 200)",
        }
    )
    rows.append(
        {
            "metric": "scheduler's CPU per pass",
            "value": f"{one['main_cpu'] / feeds * 1000:.2f} ms",
            "reference": f"`newsmon run` {run_cpu * 1000:.1f} ms per pass",
            "ratio": f"{one['main_cpu'] / feeds / run_cpu:.2f}x",
            "note": "`newsmon schedule` with 1 worker: plans, publishes, reads results",
        }
    )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=FEEDS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    for line in run(options.quick, options.feeds, options.concurrency):
        print(line)
