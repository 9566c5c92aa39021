"""How newsmon logs: its own lines at the level asked for, the libraries' only from WARNING
unless debugging, so that a failure reads as one line naming the source, the URL and the
reason (written by the spider that met it), never as a library's banner or traceback."""

from __future__ import annotations

import logging

__all__ = ["LibraryFilter"]

LIBRARIES = ("scrapy", "twisted", "apscheduler", "alembic", "py.warnings")
# Loggers whose every line the spiders report again in their own words: Scrapy's retry
# middleware says "Gave up retrying <GET url>" at ERROR for each failed request, and the
# spider's errback then logs that failure once, with its source.
REPORTED_BY_THE_SPIDERS = ("scrapy.downloadermiddlewares.retry",)
# The AMQP client's own lines on a lost or refused connection (an ERROR with a traceback for
# each, and again for each channel): crawler.schedule.broker says it once, with the broker's
# address and what happens next (reconnecting; or the command's one-line error at start).
REPORTED_BY_THE_BROKER = ("aiormq", "aio_pika")
# Loggers that report an outcome, not a fault, as an ERROR with a traceback: a robots.txt that
# cannot be downloaded (the crawl goes on as if it allowed everything; when the host is down,
# the request that follows fails too and the spider reports it). Shown at DEBUG only.
OUTCOMES_AS_ERRORS = ("scrapy.downloadermiddlewares.robotstxt",)


def _within(name: str, loggers: tuple[str, ...]) -> bool:
    return any(name == logger or name.startswith(logger + ".") for logger in loggers)


class LibraryFilter(logging.Filter):
    """On a handler: the libraries' records from WARNING only, none of what the spiders
    report again, everything when debugging. A filter on the handler rather than levels on
    the loggers, because Scrapy's logging set-up resets its loggers' levels."""

    def __init__(self, level: str) -> None:
        super().__init__()
        self.debugging = level.upper() == "DEBUG"

    def filter(self, record: logging.LogRecord) -> bool:
        if self.debugging:
            return True
        if _within(
            record.name, REPORTED_BY_THE_SPIDERS + REPORTED_BY_THE_BROKER + OUTCOMES_AS_ERRORS
        ):
            return False
        return record.levelno >= logging.WARNING or not _within(record.name, LIBRARIES)
