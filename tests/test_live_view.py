"""The terminal status line stays under the log lines."""

from __future__ import annotations

import io
import logging

from crawler.schedule.live_view import CLEAR_LINE, LiveStatusHandler


def test_log_lines_scroll_above_the_status_line() -> None:
    stream = io.StringIO()
    handler = LiveStatusHandler(stream)
    handler.status = lambda: "running: wire (3 pages, 1 new) | next: flaky in 4s"
    logger = logging.getLogger("tests.live_view")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Source wire: 3 entries, 1 new")
        handler.refresh()
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert output.startswith(CLEAR_LINE + "Source wire: 3 entries, 1 new\n")
    assert output.endswith(CLEAR_LINE + "running: wire (3 pages, 1 new) | next: flaky in 4s")
