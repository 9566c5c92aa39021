"""The growth plot of docs/performance.md: how costs grow with size, drawn from the rows of
`bench/results.json` that carry `series`, `size`, `per` (what the size counts) and `ms`.
One panel per benchmark, both axes logarithmic, so that linear growth is a straight line of
slope 1 and a flat line costs nothing more as the store grows.

Run: `python bench/plot.py` (also run by `python bench/run.py`); writes docs/bench-growth.png.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE.parent / "docs" / "bench-growth.png"


def series_of(results: dict[str, dict]) -> dict[str, tuple[str, dict[str, list]]]:
    """benchmark -> (what sizes count, series -> [(size, ms)]), for benchmarks with points."""
    found: dict[str, tuple[str, dict[str, list]]] = {}
    for name, run in results.items():
        lines: dict[str, list] = defaultdict(list)
        per = ""
        for row in run["rows"]:
            if {"series", "size", "ms"} <= row.keys():
                lines[row["series"]].append((row["size"], row["ms"]))
                per = row.get("per", per)
        if lines:
            found[name] = (per, {s: sorted(points) for s, points in lines.items()})
    return found


def plot(results: dict[str, dict], path: Path = OUTPUT) -> Path | None:
    """Draw the panels to `path` (PNG); None if no benchmark has points."""
    panels = series_of(results)
    if not panels:
        return None
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    figure, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
    for ax, (name, (per, lines)) in zip(axes[0], sorted(panels.items()), strict=True):
        for label, points in sorted(lines.items()):
            sizes, costs = zip(*points, strict=True)
            ax.plot(sizes, costs, marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())  # 10, 100 rather than 10^1, 10^2
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{name} ({results[name]['date']})", fontsize=10)
        ax.set_xlabel(per or "size")
        ax.set_ylabel("ms")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


if __name__ == "__main__":
    stored = json.loads((HERE / "results.json").read_text(encoding="utf-8"))
    written = plot(stored)
    print(written or "no benchmark in bench/results.json has points to plot")
    sys.exit(0 if written else 1)
