"""The benchmarks still run (tiny sizes); their figures are never asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_benchmarks_run_quick() -> None:
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| metric | value |" in result.stdout


def test_growth_plot_and_results_file(tmp_path: Path) -> None:
    """bench/results.json rows with points become one log-log panel per benchmark, and
    RESULTS.md is written from the file, every benchmark with its own date and command."""
    from bench.plot import plot, series_of
    from bench.run import render

    run = {
        "date": "2026-11-27 10:00 UTC",
        "seconds": 12.0,
        "machine": "x86_64, 2 cores",
        "versions": "Python 3.11",
        "command": "python bench/run.py storage",
    }
    results = {
        "storage": {
            **run,
            "rows": [
                {
                    "metric": f"sqlite {n}: hits page",
                    "value": f"{ms} ms",
                    "series": "sqlite: hits",
                    "size": n,
                    "per": "stored articles",
                    "ms": ms,
                }
                for n, ms in ((10_000, 4.0), (100_000, 6.0), (1_000_000, 9.5))
            ],
        },
        "tagging": {**run, "rows": [{"metric": "Matcher", "value": "0.5"}]},
    }
    assert series_of(results) == {
        "storage": (
            "stored articles",
            {"sqlite: hits": [(10_000, 4.0), (100_000, 6.0), (1_000_000, 9.5)]},
        )
    }
    written = plot(results, tmp_path / "growth.png")
    assert written is not None and written.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert plot({"tagging": results["tagging"]}, tmp_path / "none.png") is None
    text = render(results)
    assert text.index("## tagging") < text.index("## storage")  # BENCHMARKS order
    assert text.count("- command: `python bench/run.py storage`") == 2
    assert "| sqlite 1000000: hits page | 9.5 ms |" in text


def test_spy_summary_reads_collapsed_stacks() -> None:
    """py-spy's raw output, child processes included (their command lines hold ";")."""
    from bench.spy_summary import summarise

    worker = 'process 2:"python -c from multiprocessing.forkserver import main; main(1)"'
    lines = [
        'process 1:"newsmon crawl";main (crawler/cli/main.py:10);compress (gzip.py:60) 3',
        f'process 1:"newsmon crawl";{worker};_extract (crawler/extract/pool.py:176);'
        "bare_extraction (trafilatura/core.py:397) 1",
        "not a stack line",
    ]
    text = summarise(lines)
    assert text.startswith("4 samples")
    assert " 75.0%  main process" in text
    assert " 25.0%  child: python -c from multiprocessing.forkserver import main\n" in text
    # The worker's frames are crawler's too (crawler/extract/pool.py): counted once per sample.
    assert "100.0%  crawler" in text and " 25.0%  trafilatura" in text
    assert " 75.0%  compress (gzip.py)" in text
