"""A live status line at the bottom of the terminal while `newsmon run` or `newsmon crawl` works.

Only when standard error is a terminal: log lines scroll above the status line, which shows
the passes under way with their progress and the next runs. Log files get plain lines.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from typing import TextIO

__all__ = ["CLEAR_LINE", "LiveStatusHandler"]

CLEAR_LINE = "\r\033[K"


class LiveStatusHandler(logging.StreamHandler):
    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.status: Callable[[], str] = lambda: ""

    def _status_line(self) -> str:
        width = shutil.get_terminal_size((100, 20)).columns
        return self.status()[: max(width - 1, 10)]

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            self.stream.write(f"{CLEAR_LINE}{line}\n{self._status_line()}")
            self.flush()
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)

    def refresh(self) -> None:
        self.stream.write(CLEAR_LINE + self._status_line())
        self.flush()

    def clear(self) -> None:
        """Take the status line away (the work is over) and show no more."""
        self.status = lambda: ""
        self.stream.write(CLEAR_LINE)
        self.flush()
