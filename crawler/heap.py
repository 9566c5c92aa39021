"""Give the memory of freed page buffers back to the system, so a long crawl stays small.

glibc's malloc serves blocks from 128 KiB up with mmap, and returns them to the system when
they are freed, until the first such block is freed: then it raises that threshold to the
block's size (up to 32 MiB), and from there on downloaded and decoded pages (200 KB to 2 MB
each) are carved out of the heap, which fragments and stays at its high-water mark. Setting
the threshold once turns that adjustment off: the crawl process of a 3,000-article crawl of
the throughput benchmark's pages then stayed near 150 MB instead of 200 MB.

An extraction worker holds one page at a time, and its large blocks (the page, the parse's
buffers) are freed when the page is done: served by mmap, each page's megabytes came back
from the kernel as fresh pages, about 2,000 page faults a corpus page, a tenth of a worker's
time (505 corpus pages: 3.3 s of system time against 0.3 s, `python bench/page_costs.py`).
A worker fixes the threshold at
`WORKER_MMAP_THRESHOLD` instead: its pages come from the heap, which the trim below keeps
small, and only a block larger than any page's needs takes the mmap path.

Smaller blocks still come from the heap, where the peaks of a large page's parse leave free
pages that malloc keeps; `release_free_memory` (malloc_trim) hands them back. A `Trimmer`
counts the pages a process handled and does so every `TRIM_EVERY` pages (the crawl
process's is kept by `crawler.extensions.ProcessResources`, each extraction worker has its
own): a worker held 47 MB of its own after 300 corpus pages instead of 68, for 0.2 ms of
system time a page.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache

__all__ = [
    "MMAP_THRESHOLD",
    "TRIM_EVERY",
    "WORKER_MMAP_THRESHOLD",
    "Trimmer",
    "keep_large_blocks_off_heap",
    "release_free_memory",
]

MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value
WORKER_MMAP_THRESHOLD = 4 * 1024 * 1024  # a corpus page's parse needs less than this at once
TRIM_EVERY = 32  # pages between two releases of the heap's free pages
_M_MMAP_THRESHOLD = -3  # mallopt parameter, from glibc's malloc.h


@cache
def _glibc() -> ctypes.CDLL | None:
    """The C library, if it is glibc (musl and others have neither mallopt nor malloc_trim)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def keep_large_blocks_off_heap(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold; False where the C library is not glibc (nothing to do)."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold))


def release_free_memory() -> None:
    """Return the heap's free pages to the system (nothing where the C library is not glibc)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


class Trimmer:
    """Counts the pages its process handled; every `every` pages, releases free memory."""

    def __init__(self, every: int = TRIM_EVERY) -> None:
        self.every = every
        self.pages = 0

    def page_done(self) -> None:
        self.pages += 1
        if self.pages % self.every == 0:
            release_free_memory()
