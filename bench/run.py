"""Run newsmon's benchmarks: `python bench/run.py [--quick] [NAME ...]`.

Each benchmark is a module of this folder with `NAME` and `run(quick) -> rows`; a row has a
metric, a value and, where there is one, the reference measured in the same run, their ratio
and the target; rows that belong on the growth plot also have `series`, `size` and `ms`.
Prints a table per benchmark, keeps the rows in bench/results.json (a run of some benchmarks
replaces theirs and keeps the others'), writes bench/RESULTS.md from it (machine, versions,
date and command of each) and draws docs/bench-growth.png (`bench/plot.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

# Issue 7's benchmarks in its order (memory: scheduler_memory; the crawl's peak is measured by
# throughput), then those of near-duplicates and re-tagging, and of the web page of hits.
BENCHMARKS = [
    "throughput",
    "passes",
    "polling",
    "tagging",
    "storage",
    "scheduler_memory",
    "neardup",
    "indexes",
    "host_limits",
    "retag",
    "web_hits",
    "distributed",
]
COLUMNS = ("metric", "value", "reference", "ratio", "target", "met", "note")


def versions() -> str:
    names = ("scrapy", "trafilatura", "feedparser", "sqlalchemy", "apscheduler")
    found = []
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join([f"Python {platform.python_version()}", *found])


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = []
        for column in COLUMNS:
            value = row.get(column, "")
            cells.append(
                {True: "yes", False: "**no**"}.get(value, str(value))
                if isinstance(value, bool)
                else str(value)
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(results: dict[str, dict[str, object]]) -> str:
    """RESULTS.md: every benchmark of `results`, in BENCHMARKS order."""
    lines = [
        "# newsmon benchmark results",
        "",
        "Written by `python bench/run.py` from `bench/results.json`; each section says "
        "when and how it was measured.",
    ]
    for name in sorted(results, key=lambda n: BENCHMARKS.index(n) if n in BENCHMARKS else 99):
        run = results[name]
        lines += [
            "",
            f"## {name}",
            "",
            f"- date: {run['date']}, {run['seconds']:.0f} s; machine: {run['machine']}",
            f"- versions: {run['versions']}",
            f"- command: `{run['command']}`",
            "",
            table(run["rows"]),
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check they run")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of {', '.join(BENCHMARKS)}")
    options = parser.parse_args()
    unknown = set(options.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    stored = HERE / "results.json"
    results = json.loads(stored.read_text(encoding="utf-8")) if stored.exists() else {}
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
    command = " ".join(["python bench/run.py", *sys.argv[1:]])
    print(f"# {machine}\n# {versions()}\n", flush=True)
    for name in options.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        started = time.monotonic()
        rows = module.run(quick=options.quick)
        seconds = time.monotonic() - started
        print(f"## {name} ({seconds:.0f} s)\n\n{table(rows)}\n", flush=True)
        if not options.quick:  # quick runs only check that benchmarks still work
            results[name] = {
                "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
                "seconds": seconds,
                "machine": machine,
                "versions": versions(),
                "command": command,
                "rows": rows,
            }
            stored.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
            (HERE / "RESULTS.md").write_text(render(results), encoding="utf-8")
    if not options.quick:
        from bench.plot import plot

        plot(results, HERE.parent / "docs" / "bench-growth.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
