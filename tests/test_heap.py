"""`crawler.heap`: glibc's mmap threshold is fixed, and the heap's free pages can be handed
back to the system."""

from __future__ import annotations

import platform
import subprocess
import sys

from crawler.heap import keep_large_blocks_off_heap
from tests.conftest import REPO


def test_the_threshold_is_set_on_glibc() -> None:
    # This machine (and CI) runs glibc; elsewhere the call is a harmless False.
    assert platform.libc_ver()[0] == "glibc"
    assert keep_large_blocks_off_heap() is True


def test_free_pages_in_the_heap_go_back_to_the_system() -> None:
    # 200 MB of 10 KB blocks freed under a block still in use at the heap's top: malloc keeps
    # their pages until they are released. In a process of its own, so RSS is its own.
    code = """
from crawler.heap import release_free_memory
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
blocks = [bytes(10_000) for _ in range(20_000)]
pin = bytes(10_000)
del blocks
before = rss()
release_free_memory()
print(before, rss())
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    before, after = map(int, result.stdout.split())
    assert before > 150, before  # the freed blocks were still held
    assert before - after > 150, (before, after)
