"""Extraction in worker processes, so the reactor's thread only downloads, parses and stores.

spider → **extract** → dedup → tag → story → store. The extract pipeline hands each page to
an `ExtractionPool`; its workers run `extract` (`crawler.extract.page.extract_article`, then
the text's dedup keys, `crawler.match.fingerprints`) and send back the result with the log records
it made, which are re-emitted here: they reach the crawl's log, at the crawl's level, as if
extraction had run in this process.

A pool starts nothing when it is made: its fork server starts when the crawl first asks for
an article page (`warm_up`; `newsmon crawl` starts it earlier, as soon as it has sources to
crawl), its workers when the first page needs extracting, and a crawl that extracts nothing
forks and stops no worker. `crawler.extensions.ProcessResources` owns the
pool: one per process, shared by every crawler running in it (`newsmon crawl` runs one per
kind of source, `newsmon run` one per source pass) and closed when the process ends.
Workers are forked by a fork server that imported the extraction modules once, not forked
from the crawl itself: that would copy its reactor and threads in whatever state they are.
Each worker freezes the garbage collector's view of what it inherited (`gc.freeze`): the
collector would otherwise write to every inherited object it visits and so copy the pages
the workers share.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import logging.handlers
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import queue
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import TYPE_CHECKING

from crawler.errors import WorkerLost
from crawler.heap import WORKER_MMAP_THRESHOLD, Trimmer, keep_large_blocks_off_heap

if TYPE_CHECKING:  # the crawl's own process never imports trafilatura nor datasketch
    from crawler.extract.headline import Headline
    from crawler.extract.result import Byline, Extracted
    from crawler.match.fingerprints import TextKeys

    Result = tuple[Extracted, TextKeys] | None

__all__ = [
    "ExtractionPool",
    "QUIET_LOGGERS",
    "Result",
    "WorkerLost",
    "extract",
    "start_fork_server",
]

logger = logging.getLogger(__name__)

# trafilatura warns about every page that is not an article; the stats count them.
QUIET_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext")
# What the fork server imports once for every worker to share: the extraction and text key
# modules, the language data, dateparser (htmldate imports it for its first odd date). And
# `__main__`: without it each worker would import the `newsmon` script's module (the whole
# CLI) again.
_PRELOAD = [
    "__main__",
    "crawler.extract.page",
    "crawler.match.fingerprints",
    "crawler.extract.language_data",
    "dateparser",
]


def extract(
    html: str | None,
    page_url: str,
    feed_published: datetime | None,
    headline: Headline | None = None,
    byline: Byline | None = None,
) -> Result:
    """The page's article and its text's dedup keys; None when it has no article text.

    With the entry's `headline` (it has a title), an article page without article text, or
    no page at all (`html` None: a search entry that did not resolve), gives a headline-only
    article: the page's metadata with an empty text, keyed by the entry's title and summary.
    With the entry's `byline`, its title, author and date stand for the page's when it has
    all three (`crawler.extract.page.read_page`).
    """
    from dataclasses import replace

    from crawler.extract.page import detect_language, entry_only, read_page
    from crawler.match.fingerprints import text_keys

    if html is None:
        author = byline.author if byline is not None else None
        extracted = entry_only(feed_published, author=author) if headline is not None else None
    else:
        link_url = headline.link_url if headline is not None else None
        extracted = read_page(html, page_url, feed_published, link_url=link_url, byline=byline)
    if extracted is None:
        return None
    if extracted.text or headline is None:
        return extracted, text_keys(extracted.text)
    text = headline.text
    return replace(extracted, language=extracted.language or detect_language(text)), text_keys(text)


def start_fork_server() -> None:
    """Start the fork server (it imports the extraction modules) while the crawl starts up."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    multiprocessing.forkserver.ensure_running()


class ExtractionPool:
    """Workers started on first use and kept until `close`; `started` says whether they were."""

    def __init__(self, workers: int, log_level: int | str) -> None:
        self.workers = workers
        self.log_level = log_level
        self._executor: ProcessPoolExecutor | None = None
        self._started: Future[None] | None = None

    @property
    def started(self) -> bool:
        return self._executor is not None

    def warm_up(self) -> None:
        """Start the fork server (it imports the extraction modules, a second or two of CPU)
        while the pages that will need it download; forks no worker."""
        if self._executor is None:
            start_fork_server()

    def _start(self) -> tuple[ProcessPoolExecutor, Future[None]]:
        start_fork_server()
        executor = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_start_worker,
            initargs=(self.log_level,),
        )
        started: Future[None] = Future()

        def start_all() -> None:
            # A task per worker starts them all now. Starting one waits for the fork server's
            # imports, so it happens on a thread: the reactor goes on downloading meanwhile.
            try:
                for _ in range(self.workers):
                    executor.submit(_ready)
            except BaseException as exc:
                started.set_exception(exc)
            else:
                started.set_result(None)

        threading.Thread(target=start_all, name="extraction-workers", daemon=True).start()
        return executor, started

    async def extract(
        self,
        html: str | None,
        page_url: str,
        feed_published: datetime | None,
        headline: Headline | None = None,
        byline: Byline | None = None,
    ) -> Result:
        if self._executor is None:
            logger.info("Extraction in %d worker processes", self.workers)
            self._executor, self._started = self._start()
        executor, started = self._executor, self._started
        assert started is not None
        try:
            await asyncio.wrap_future(started)
            future = executor.submit(_extract, html, page_url, feed_published, headline, byline)
            extracted, records = await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            if executor is self._executor:  # the first page to notice replaces the pool
                logger.error("An extraction worker died; starting new workers")
                _kill_survivors(executor)
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor, self._started = self._start()
            raise WorkerLost(f"extraction worker died while extracting {page_url}") from exc
        for record in records:
            logging.getLogger(record.name).handle(record)
        return extracted

    def pids(self) -> list[int]:
        """The worker processes' ids (for logs and tests); none before the first page."""
        return sorted(self._executor._processes or ()) if self._executor is not None else []

    def close(self) -> None:
        """Stop the workers, if they were started, and wait for them: they must not outlive
        the crawl. The pool may start again afterwards."""
        if self._executor is None or self._started is None:
            return
        wait([self._started])  # not while a worker is being started
        pids = self.pids()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = self._started = None
        logger.info("Extraction workers stopped (pids %s)", ", ".join(map(str, pids)))


def _kill_survivors(executor: ProcessPoolExecutor) -> None:
    """SIGKILL the workers a broken pool still has. The executor ends them with SIGTERM and
    waits for them, but workers ignore SIGTERM (stopping is the crawl's decision, see
    `_start_worker`): its thread would wait forever, and the process hang at exit."""
    for process in list((executor._processes or {}).values()):
        if process.is_alive():
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(process.pid, signal.SIGKILL)


# --- in the workers ---------------------------------------------------------------------

# A worker's own: what it logs for the page at hand, and its heap housekeeping.
_records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
_heap = Trimmer()


def _start_worker(log_level: int | str) -> None:
    # Stopping is the crawl's decision (Ctrl-C, systemd's SIGTERM reach the whole group): it
    # finishes its pages and then shuts the pool down. Should it die without doing so, the
    # worker exits too, rather than wait for work forever.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    gc.freeze()
    keep_large_blocks_off_heap(WORKER_MMAP_THRESHOLD)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    # QueueHandler formats each record (message, traceback) so it can be pickled back.
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(_records)]
    root.setLevel(log_level)
    if root.getEffectiveLevel() > logging.DEBUG:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    multiprocessing.connection.wait([parent.sentinel])
    os._exit(1)


def _ready() -> None:
    """Nothing: submitted once per worker so that the pool starts them all."""


def _extract(
    html: str | None,
    page_url: str,
    feed_published: datetime | None,
    headline: Headline | None,
    byline: Byline | None,
) -> tuple[Result, list[logging.LogRecord]]:
    _heap.page_done()  # a large page leaves free heap behind (crawler.heap)
    try:
        return extract(html, page_url, feed_published, headline, byline), _drain()
    except BaseException:
        _drain()  # the next page must not carry this one's records
        raise


def _drain() -> list[logging.LogRecord]:
    records = []
    while not _records.empty():
        records.append(_records.get_nowait())
    return records
