"""The benchmarks still run (tiny sizes); their figures are never asserted here."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_benchmarks_run_quick() -> None:
    result = subprocess.run([sys.executable, "bench/run.py", "--quick"], cwd=REPO,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| metric | value |" in result.stdout
