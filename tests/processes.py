"""Watching the processes a test starts: waiting for a condition, finding a process's children."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def wait_for(condition, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def reap(process: subprocess.Popen, timeout: float = 30) -> None:
    """Kill a process a test started if it still runs, and wait for it: a process never
    waited for makes its Popen warn, in a later test."""
    if process.poll() is None:
        process.kill()
        process.wait(timeout)
