"""`newsmon worker`: runs the passes that `newsmon schedule` hands out, on any host.

The schedule stage of the distributed mode (docs/distributed.md). One long-lived asyncio
reactor, as `newsmon run` has: it consumes `<prefix>.passes` from RabbitMQ
(crawler.schedule.broker) with at most `worker_concurrency` passes unacknowledged, and runs
each with the same spiders and pipelines as `newsmon run`, through Scrapy's
`AsyncCrawlerRunner`, sharing the process's extraction workers and near-duplicate and story
indexes (refreshed from the store before each lookup, so an original stored by another worker
is found). A pass is acknowledged only after its result is published: a worker that dies
mid-pass leaves it to the broker, which delivers it again to another worker, and its links,
owed in the store since they were requested, are fetched by that pass.

A pass runs under the source's advisory lock (crawler.store.locks), so one source never has
two passes at once, even when the broker delivers a pass again while the first worker still
runs it (after a restart of the broker): the second waits, then runs a pass that finds little.

Each pass uses the config version its request names (crawler.store.config_versions): the
worker's own config gives only the store and the broker. Its crawls limit each host together
with the other workers' (`NEWSMON_SHARED_HOST_LIMITS`). SIGTERM or SIGINT: no new pass is
taken, running ones stop within `STOP_TIMEOUT` and go back to the queue unacknowledged, for
another worker; a second signal exits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from scrapy.crawler import AsyncCrawlerRunner, Crawler

from crawler.config.files import Config, load_config
from crawler.extensions import SharedResources
from crawler.schedule.broker import Broker, PassRequest, PassResult
from crawler.schedule.one_pass import pass_crawler, pass_outcome, project_settings
from crawler.schedule.polling import Outcome
from crawler.schedule.process import StopsOnSignal, run_on_reactor
from crawler.store import config_versions, host_limits, workers
from crawler.store.indexes import ArticleIndexes
from crawler.store.locks import AdvisoryLocks, require_postgresql

__all__ = ["Worker", "config_from_files", "default_name", "run_worker"]

logger = logging.getLogger("newsmon.worker")

STOP_TIMEOUT = 25.0  # seconds for running passes to stop after SIGTERM (the budget is 30)
LOCK_EVERY = 1.0  # seconds between tries of a source's lock held by another worker's pass
RESULT_RETRY = 2.0  # seconds between tries to publish a result while the broker is away
CONFIGS_KEPT = 4  # config versions kept parsed in memory
BEAT_AT_MOST_EVERY = 1.0  # seconds: a heartbeat when a pass starts or ends, not more often
# Seconds between two deletions of the shared host limits' ended leases and idle paces: what
# they delete limits nothing (crawler/store/host_limits.py), so once a minute per worker is
# enough, where once a pass was two more statements, each scanning both tables.
FORGET_IDLE_EVERY = 60.0


class UnknownVersion(LookupError):
    """A pass names a config version that the store does not have."""


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Running:
    source: str
    crawler: Crawler | None = None


class Worker(StopsOnSignal):
    def __init__(self, config: Config, name: str, concurrency: int, log_level: str) -> None:
        self.local = config  # gives the store and the broker; passes bring their own config
        self.name = name
        self.concurrency = concurrency
        self.log_level = log_level
        self.shared = SharedResources()  # the passes' crawlers share engines and workers
        self.engine = self.shared.engines.writer(config.settings.database)
        require_postgresql(self.engine)
        assert config.settings.broker is not None
        self.broker = Broker(
            config.settings.broker, config.settings.broker_queue, f"newsmon worker {name}"
        )
        self.indexes = ArticleIndexes(self.engine)
        self.locks = AdvisoryLocks(self.engine)  # of the sources whose passes run here
        self.configs: dict[str, Config] = {}
        self.running: dict[str, Running] = {}  # request id -> its pass
        self.tasks: set[asyncio.Task[None]] = set()  # one per pass delivered
        self.beating: asyncio.Task[None] | None = None
        self.passes = 0
        self.stopping = False
        self.stopped = asyncio.Event()
        self.runner: AsyncCrawlerRunner | None = None
        self.consumer: str | None = None
        self.heartbeat_error: str | None = None
        self.changed = asyncio.Event()  # a pass started or ended: store the heartbeat now
        self.forgot_at = time.monotonic()  # the host limits' housekeeping (`forget_idle`)

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.runner = AsyncCrawlerRunner(project_settings())
        await self.broker.connect(prefetch=self.concurrency)
        await asyncio.to_thread(
            workers.register, self.engine, self.name, socket.gethostname(), os.getpid()
        )
        self.listen(loop)
        self.consumer = await self.broker.consume(self.broker.passes, self.on_request)
        self.beating = asyncio.ensure_future(self.heartbeat())
        logger.info(
            "newsmon worker %s: taking passes from %s (%d at once)",
            self.name,
            self.broker.passes,
            self.concurrency,
        )

    async def stop(self) -> None:
        """No new pass; running ones stop and go back to the queue, within `STOP_TIMEOUT`."""
        deadline = time.monotonic() + STOP_TIMEOUT
        if self.consumer is not None:
            try:
                await self.broker.cancel(self.broker.passes, self.consumer)
            except Exception as exc:  # noqa: BLE001 - they go back when the connection closes
                logger.warning("Could not stop consuming: %s", exc)
        if self.runner is not None and self.running:
            try:
                await asyncio.wait_for(self.runner.stop(), STOP_TIMEOUT)
            except TimeoutError:
                logger.warning("Passes still running after %ss; leaving them", STOP_TIMEOUT)
        if self.beating is not None:
            self.beating.cancel()
        passes = [task for task in self.tasks if not task.done()]
        if passes:  # each returns its pass to the queue, or reports it if it had finished
            await asyncio.wait(passes, timeout=max(1.0, deadline - time.monotonic()))
        try:
            await asyncio.to_thread(workers.stop, self.engine, self.name, self.passes)
        except Exception as exc:  # noqa: BLE001 - the row then reads "lost" after a while
            logger.warning("Could not record the stop: %s", exc)
        await self.broker.close()
        await asyncio.to_thread(self.locks.close)
        self.stopped.set()

    async def heartbeat(self) -> None:
        """Store the heartbeat every `HEARTBEAT_EVERY` seconds, and at once when a pass starts
        or ends (`changed`), so `newsmon workers` shows what runs now."""
        while not self.stopping:
            self.changed.clear()
            running = sorted(item.source for item in self.running.values())
            try:
                await asyncio.to_thread(workers.beat, self.engine, self.name, running, self.passes)
                if self.heartbeat_error:
                    logger.info("Heartbeat stored again")
                self.heartbeat_error = None
            except Exception as exc:  # noqa: BLE001 - the store may be down a moment
                if str(exc) != self.heartbeat_error:
                    logger.warning("Cannot store the heartbeat: %s", exc)
                self.heartbeat_error = str(exc)
            if time.monotonic() - self.forgot_at >= FORGET_IDLE_EVERY:
                self.forgot_at = time.monotonic()
                await self.forget_idle()
            # At most one write a second, however many passes start and end meanwhile.
            await asyncio.sleep(BEAT_AT_MOST_EVERY)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.changed.wait(), workers.HEARTBEAT_EVERY - BEAT_AT_MOST_EVERY
                )

    async def forget_idle(self) -> None:
        """Delete the shared host limits' ended leases and idle paces (nothing they hold
        limits anything any more: housekeeping, so a failure only waits for the next turn)."""
        engine = self.shared.engines.limits(self.local.settings.database)
        try:
            await asyncio.to_thread(host_limits.forget_idle, engine)
        except Exception as exc:  # noqa: BLE001 - the store may be down a moment
            logger.warning("Shared host limits: cleaning up failed (%s)", exc)

    # --- passes --------------------------------------------------------------------------

    async def on_request(self, message: AbstractIncomingMessage) -> None:
        """Handle each delivery in a task of its own: passes run side by side."""
        task = asyncio.ensure_future(self.handle(message))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def handle(self, message: AbstractIncomingMessage) -> None:
        try:
            request = PassRequest.from_body(message.body)
        except (ValueError, KeyError, TypeError) as exc:
            logger.error("Dropped an unreadable pass request (%s): %r", exc, message.body[:200])
            await self._settle(message, ack=False)
            return
        if self.stopping:
            await self._settle(message, ack=False, requeue=True)
            return
        try:
            config = await self.config_for(request.version)
        except UnknownVersion as exc:
            result = PassResult(
                request.id, request.source, self.name, "unknown", asdict(Outcome("error", str(exc)))
            )
            await self._report(result, message)
            return
        except Exception as exc:  # noqa: BLE001 - the store is away: try again later
            logger.error(
                "Source %s: cannot read config %s: %s", request.source, request.version[:12], exc
            )
            await asyncio.sleep(RESULT_RETRY)
            await self._settle(message, ack=False, requeue=True)
            return
        source = config.by_name.get(request.source)
        if source is None:
            summary = f"no source {request.source} in config {request.version[:12]}"
            outcome = asdict(Outcome("error", summary))
            result = PassResult(request.id, request.source, self.name, "unknown", outcome)
            await self._report(result, message)
            return
        if message.redelivered:
            logger.info("Source %s: a pass delivered again (its first worker stopped)", source.name)
        lock = f"source:{source.name}"
        self.running[request.id] = Running(source.name)
        self.changed.set()
        try:
            while not await asyncio.to_thread(self.locks.acquire, lock):
                if self.stopping:
                    await self._settle(message, ack=False, requeue=True)
                    return
                await asyncio.sleep(LOCK_EVERY)  # another worker's pass of the source
            result = await self.crawl(request, config, source)
        except Exception:
            logger.exception("Source %s: the pass crashed", source.name)
            await self._settle(message, ack=False, requeue=True)
            return
        finally:
            del self.running[request.id]
            self.changed.set()
            await asyncio.to_thread(self.locks.release, lock)
        if result is None:  # interrupted by a stop: another worker runs it
            logger.info("Source %s: pass returned to the queue", source.name)
            await self._settle(message, ack=False, requeue=True)
            return
        self.passes += 1
        await self._report(result, message)

    async def crawl(self, request: PassRequest, config: Config, source: Any) -> PassResult | None:
        assert self.runner is not None
        started = time.monotonic()
        crawler = pass_crawler(
            config,
            source,
            self.log_level,
            self.shared,
            self.indexes,
            {"NEWSMON_SHARED_HOST_LIMITS": True},
        )
        self.running[request.id].crawler = crawler
        await self.runner.crawl(crawler)
        outcome = pass_outcome(crawler, source.name)
        if outcome.status == "interrupted" and self.stopping:
            return None
        stats = crawler.stats.get_stats() if crawler.stats else {}
        hits = {
            topic.name: stats[f"newsmon/hits/{topic.name}"]
            for topic in config.topics
            if stats.get(f"newsmon/hits/{topic.name}")
        }
        return PassResult(
            request.id,
            source.name,
            self.name,
            "done",
            asdict(outcome),
            int(stats.get("newsmon/store/new", 0)),
            hits,
            round(time.monotonic() - started, 3),
        )

    async def _report(self, result: PassResult, message: AbstractIncomingMessage) -> None:
        """Publish the result, then acknowledge: never the other way round, or a worker dying
        between the two would lose the pass's result (a pass run twice costs little)."""
        while True:
            try:
                await self.broker.publish(self.broker.results, result.body(), result.id)
                break
            except Exception as exc:  # noqa: BLE001 - the broker is away: wait for it
                if self.stopping:
                    logger.warning(
                        "Source %s: result not sent (%s); the pass goes back", result.source, exc
                    )
                    return
                logger.warning("Source %s: cannot send the result yet: %s", result.source, exc)
                await asyncio.sleep(RESULT_RETRY)
        await self._settle(message, ack=True)

    async def _settle(
        self, message: AbstractIncomingMessage, *, ack: bool, requeue: bool = False
    ) -> None:
        try:
            if ack:
                await message.ack()
            else:
                await message.reject(requeue=requeue)
        except Exception as exc:  # noqa: BLE001 - its channel is gone: the broker delivers again
            logger.info(
                "Pass %s not settled (%s); the broker delivers it again", message.message_id, exc
            )

    async def config_for(self, version: str) -> Config:
        if version not in self.configs:
            files = await asyncio.to_thread(config_versions.load_files, self.engine, version)
            if files is None:
                raise UnknownVersion(f"config version {version[:12]} is not in the store")
            self.configs[version] = self.with_local_settings(config_from_files(files, version))
            while len(self.configs) > CONFIGS_KEPT:
                del self.configs[next(iter(self.configs))]
        return self.configs[version]

    def with_local_settings(self, config: Config) -> Config:
        """The scheduler's config with this worker's store and broker."""
        mine = self.local.settings
        settings = replace(
            config.settings,
            database=mine.database,
            broker=mine.broker,
            broker_queue=mine.broker_queue,
            worker_concurrency=mine.worker_concurrency,
        )
        return replace(config, settings=settings)


def config_from_files(files: dict[str, str], version: str) -> Config:
    """A config read from the files' text, as `load_config` reads a directory."""
    with tempfile.TemporaryDirectory(prefix="newsmon-config-") as directory:
        for name, text in files.items():
            (Path(directory) / Path(name).name).write_text(text, encoding="utf-8")
        config = load_config(directory)
    return replace(config, directory=Path(f"<config {version[:12]}>"))


def run_worker(config: Config, name: str, concurrency: int, log_level: str = "INFO") -> None:
    """Run until SIGTERM or SIGINT, on one asyncio reactor; BrokerError when the broker
    cannot be reached at start."""
    worker = Worker(config, name, concurrency, log_level)

    async def main(loop: asyncio.AbstractEventLoop) -> None:
        await worker.start(loop)
        await worker.stopped.wait()

    run_on_reactor(main, worker.shared)
    logger.info("newsmon worker %s: stopped", name)
