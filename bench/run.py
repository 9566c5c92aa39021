"""Run newsmon's benchmarks: `python bench/run.py [--quick] [NAME ...]`.

Each benchmark is a module of this folder with `NAME` and `run(quick) -> rows`; a row has a
metric, a value and, where there is one, the reference measured in the same run, their ratio
and the target. Prints a table and writes bench/RESULTS.md (machine, versions, date).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

BENCHMARKS = [
    "scheduler_memory", "neardup", "web_hits", "retag", "throughput", "polling", "tagging",
    "storage",
]  # fmt: skip
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
            cells.append({True: "yes", False: "**no**"}.get(value, str(value))
                         if isinstance(value, bool) else str(value))  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check they run")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of {', '.join(BENCHMARKS)}")
    options = parser.parse_args()
    unknown = set(options.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    sections = [
        "# newsmon benchmark results",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- versions: {versions()}",
        f"- command: `python bench/run.py {' '.join(sys.argv[1:])}`".rstrip(),
    ]
    for name in options.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        started = time.monotonic()
        rows = module.run(quick=options.quick)
        section = f"## {name} ({time.monotonic() - started:.0f} s)\n\n{table(rows)}"
        print(section + "\n", flush=True)
        sections += ["", section]
    if not options.quick:  # quick runs only check that benchmarks still work
        (HERE / "RESULTS.md").write_text("\n".join(sections) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
