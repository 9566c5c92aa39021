"""`crawler.heap`: glibc's mmap threshold is fixed, so freed page buffers go back to the system."""

from __future__ import annotations

import platform

from crawler.heap import keep_large_blocks_off_heap


def test_the_threshold_is_set_on_glibc() -> None:
    # This machine (and CI) runs glibc; elsewhere the call is a harmless False.
    assert platform.libc_ver()[0] == "glibc"
    assert keep_large_blocks_off_heap() is True
