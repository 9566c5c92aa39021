"""What the shared per-host limits of the distributed mode cost each request
(`crawler.store.host_limits`, used by `SharedHostLimitsMiddleware`), against one plain
`SELECT 1` round trip to the same PostgreSQL measured in the same run.

- Reference: `SELECT 1` on the limits' engine (autocommit, a pooled connection).
- Permit, no delay: `acquire` and `release` of one request, as the middleware makes them.
- Permit and pace: the same with a `download_delay` (the grant also reserves the start).
- Refused: one `acquire` of a host whose places are all held (a waiting request's poll).

Hosts: 1,000 names, taken in turn, so the tables hold many rows as in a real crawl. Times:
median per request over the run, one process, no contention. Run:
`python bench/run.py host_limits`.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.store.database import engine_for  # noqa: E402
from crawler.store.host_limits import acquire, limits_engine, release  # noqa: E402

NAME = "host_limits"
PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"
HOSTS = [f"outlet{n}.example" for n in range(1_000)]


def _median_ms(step: Callable[[int], None], count: int) -> float:
    times = []
    for n in range(count):
        started = time.perf_counter()
        step(n)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _measure(url: str, count: int) -> dict[str, float]:
    engine_for(url).dispose()  # the schema
    engine = limits_engine(url)

    def select_one(_: int) -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar()

    def permit(delay: float) -> Callable[[int], None]:
        def step(n: int) -> None:
            granted = acquire(engine, HOSTS[n % len(HOSTS)], "bench", 2, 60, delay)
            assert granted is not None
            release(engine, granted)

        return step

    busy = "busy.example"
    acquire(engine, busy, "other", 1, 3600)

    def refused(_: int) -> None:
        assert acquire(engine, busy, "bench", 1, 60) is None

    select_one(0), permit(0.0)(0)  # connections made, statements prepared
    results = {
        "select": _median_ms(select_one, count),
        "permit": _median_ms(permit(0.0), count),
        "paced": _median_ms(permit(0.5), count),
        "refused": _median_ms(refused, count),
    }
    engine.dispose()
    return results


def run(quick: bool = False) -> list[dict[str, object]]:
    count = 200 if quick else 3_000
    schema = f"newsmon_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        times = _measure(f"{PG_URL}?options=-csearch_path%3D{schema}", count)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    rows: list[dict[str, object]] = []
    for key, what in (
        ("permit", "permit and release, no delay (ms per request)"),
        ("paced", "permit with the pace, and release (ms per request)"),
        ("refused", "a refused ask of a busy host (ms per poll)"),
    ):
        rows.append(
            {
                "metric": what,
                "value": round(times[key], 3),
                "reference": f"SELECT 1 {times['select']:.3f} ms",
                "ratio": f"{times[key] / times['select']:.2f}x",
                "note": f"PostgreSQL on 127.0.0.1, one process, median of {count}",
            }
        )
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
