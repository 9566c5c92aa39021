"""`newsmon schedule`: the distributed mode's scheduler, which hands passes out to workers.

The schedule stage of the distributed mode (docs/distributed.md). It is `newsmon run`'s
`Service` (the same schedules, adaptive intervals, back-off, poll requests, config reload,
re-tagging and alerts) with one difference: a due pass is published to the broker
(crawler.schedule.broker) instead of crawled here, and the next pass of the source is planned
when a worker's result comes back, from the outcome it reports.

One scheduler leads: it holds the store's `scheduler` advisory lock (crawler.store.locks). A
second one, started by mistake or for failover, stands by and takes over when the first
dies, since its lock goes with its connection. A leader that loses its connection to the
store (PostgreSQL restarted) pauses, takes the lock again, and goes on.

Each pass names the version of the config it was planned with, stored by this process
(crawler.store.config_versions): an edit of sources.yaml or topics.yaml reaches every worker
with its next pass, and topics are re-tagged once, here, not once per worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aio_pika.abc import AbstractIncomingMessage

from crawler.config.files import WATCHED_FILES, Config, ConfigError
from crawler.config.settings import parse_duration
from crawler.schedule.broker import Broker, PassRequest, PassResult
from crawler.schedule.live_view import LiveStatusHandler
from crawler.schedule.polling import Outcome
from crawler.schedule.process import run_on_reactor
from crawler.schedule.service import Service, describe_delay
from crawler.store import config_versions
from crawler.store.locks import AdvisoryLocks, require_postgresql

__all__ = ["Dispatcher", "run_scheduler"]

logger = logging.getLogger("newsmon.schedule")

LEAD_EVERY = 5.0  # seconds between checks that the lock is still held, or tries to take it
PUBLISH_RETRY = 10.0  # seconds before a pass that could not be handed out is tried again
TIMEOUTS_EVERY = 30.0  # seconds between checks for passes no worker reported
RESULTS_PREFETCH = 64  # results taken from the broker before acknowledging them


@dataclass
class Outstanding:
    """A pass handed out and not reported yet."""

    id: str
    sent: float  # time.monotonic()
    worker: str | None = None


class Dispatcher(Service):
    def __init__(self, config: Config, log_level: str = "INFO") -> None:
        super().__init__(config, log_level)
        require_postgresql(self.state.engine)
        assert config.settings.broker is not None
        self.broker = Broker(
            config.settings.broker, config.settings.broker_queue, "newsmon schedule"
        )
        self.leadership = AdvisoryLocks(self.state.engine)  # holds "scheduler" while leading
        self.leading = False
        self.outstanding: dict[str, Outstanding] = {}  # source name -> its pass
        self.results: str | None = None  # the results consumer's tag
        self.version = ""
        self.loaded_files: dict[str, str] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    # --- leadership ----------------------------------------------------------------------

    async def lead(self, loop: asyncio.AbstractEventLoop) -> None:
        """Connect, wait for the lead, then schedule until stopped."""
        self.listen(loop)
        await self.broker.connect(prefetch=RESULTS_PREFETCH)
        await self.take_lead()
        if self.stopping:
            return
        self.config = await asyncio.to_thread(self.load)  # the version stored is this config
        self.version = await asyncio.to_thread(
            config_versions.save_files, self.state.engine, self.loaded_files
        )
        self.start(loop)  # Service: jobs, sources, signals
        assert self.scheduler is not None
        self.scheduler.add_job(
            self.check_timeouts,
            "interval",
            seconds=TIMEOUTS_EVERY,
            id="newsmon:timeouts",
            max_instances=1,
            coalesce=True,
        )
        self.results = await self.broker.consume(self.broker.results, self.on_result)
        self._background(self.keep_lead())

    async def take_lead(self) -> None:
        said = False
        while not self.stopping:
            try:
                if await asyncio.to_thread(self.leadership.acquire, "scheduler"):
                    self.leading = True
                    logger.info(
                        "newsmon schedule: leading (handing passes to %s)", self.broker.passes
                    )
                    return
                if not said:
                    logger.info("Another newsmon schedule leads; standing by to take over")
                    said = True
            except Exception as exc:  # noqa: BLE001 - the store is away: try again
                logger.warning("Cannot reach the store to lead: %s", exc)
            await asyncio.sleep(LEAD_EVERY)

    async def keep_lead(self) -> None:
        """Pause while the lock is lost (the store restarted), resume when taken again."""
        while not self.stopping:
            await asyncio.sleep(LEAD_EVERY)
            if self.stopping or await asyncio.to_thread(self.leadership.alive):
                continue
            self.leading = False
            assert self.scheduler is not None
            self.scheduler.pause()
            await self._stop_results()
            logger.warning("Lost the lead; passes stay with the workers, scheduling paused")
            await self.take_lead()
            if self.stopping:
                return
            self.results = await self.broker.consume(self.broker.results, self.on_result)
            self.scheduler.resume()
            logger.info("Scheduling again")

    # --- passes --------------------------------------------------------------------------

    def busy(self, name: str) -> bool:
        return name in self.outstanding

    async def poll(self, name: str) -> None:
        tracked = self.tracked.get(name)
        if tracked is None or self.stopping or self.busy(name):
            return
        request = PassRequest(name, self.version)
        try:
            await self.broker.publish(self.broker.passes, request.body(), request.id)
        except Exception as exc:  # noqa: BLE001 - the broker is away: the pass waits
            logger.warning(
                "Source %s: cannot hand out its pass (%s); again in %s",
                name,
                exc,
                describe_delay(PUBLISH_RETRY),
            )
            self._plan(tracked, datetime.now(UTC) + timedelta(seconds=PUBLISH_RETRY))
            return
        self.outstanding[name] = Outstanding(request.id, time.monotonic())
        logger.debug("Source %s: pass %s handed out", name, request.id)

    async def on_result(self, message: AbstractIncomingMessage) -> None:
        try:
            result = PassResult.from_message(message.body, dict(message.headers or {}))
        except (ValueError, KeyError, TypeError) as exc:
            logger.error("Dropped an unreadable pass result (%s): %r", exc, message.body[:200])
            await message.reject(requeue=False)
            return
        waiting = self.outstanding.get(result.source)
        if waiting is None or waiting.id != result.id:
            # A pass run twice (delivered again), or handed out by an earlier leader: the
            # source's next pass is planned already.
            logger.debug("Source %s: result of an earlier pass %s", result.source, result.id)
            await message.ack()
            return
        del self.outstanding[result.source]
        tracked = self.tracked.get(result.source)
        if tracked is not None and not self.stopping:
            outcome = result.source_outcome()
            if result.status == "unknown":
                outcome = Outcome("error", f"worker {result.worker}: {outcome.summary}")
            elif result.status == "failed":
                logger.error("Source %s: %s", result.source, outcome.summary)
            if result.status == "done":
                tracked.worker = result.worker  # stored with the next run, in one commit
            try:
                self.after_pass(tracked, outcome, result.stats())
            except Exception:  # the next pass is planned whatever failed
                logger.exception("Source %s: reporting the pass failed", result.source)
                if tracked.next_run_at is None or tracked.next_run_at <= datetime.now(UTC):
                    self._plan(tracked, self._next_run(tracked, outcome, datetime.now(UTC)))
        await message.ack()

    async def check_timeouts(self) -> None:
        """A pass that no worker reported within `pass_timeout` is handed out again."""
        limit = float(parse_duration(self.config.settings.pass_timeout))
        now = time.monotonic()
        for name, waiting in list(self.outstanding.items()):
            if now - waiting.sent < limit:
                continue
            del self.outstanding[name]
            tracked = self.tracked.get(name)
            if tracked is not None:
                logger.warning(
                    "Source %s: no worker reported its pass within %s; handing it out again",
                    name,
                    self.config.settings.pass_timeout,
                )
                self._plan(tracked, datetime.now(UTC))

    # --- configuration -------------------------------------------------------------------

    def load(self) -> Config:
        """The config, with the text it was read from (checked unchanged meanwhile)."""
        files = config_versions.files_of(self.config.directory, WATCHED_FILES)
        config = super().load()
        if config_versions.files_of(self.config.directory, WATCHED_FILES) != files:
            self.config_stamp = ()  # read again at the next check
            raise ConfigError(f"{self.config.directory}: the files changed while being read")
        self.loaded_files = files
        return config

    def reload(self) -> None:
        before = self.config
        super().reload()
        if self.config is not before:
            try:
                self.version = config_versions.save_files(self.state.engine, self.loaded_files)
                logger.info("Config version %s handed to the workers", self.version[:12])
            except Exception as exc:  # noqa: BLE001 - passes keep the version before
                logger.error("Cannot store the config for the workers: %s", exc)

    # --- lifecycle -----------------------------------------------------------------------

    async def stop(self) -> None:
        await self._stop_results()
        await super().stop()  # Service: the jobs; no crawl runs here
        await self.broker.close()
        await asyncio.to_thread(self.leadership.close)

    async def _stop_results(self) -> None:
        if self.results is not None:
            tag, self.results = self.results, None
            try:
                await self.broker.cancel(self.broker.results, tag)
            except Exception as exc:  # noqa: BLE001 - a closed channel consumes nothing
                logger.debug("Results consumer not cancelled: %s", exc)

    def _background(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def status_line(self) -> str:
        now = time.monotonic()
        handed = ", ".join(
            f"{name} ({describe_delay(now - waiting.sent)})"
            for name, waiting in sorted(self.outstanding.items())
        )
        following = super().status_line().split(" | ", 1)[1]
        leading = "leading" if self.leading else "standing by"
        return f"{leading}; with workers: {handed or 'nothing'} | {following}"


def run_scheduler(
    config: Config, log_level: str = "INFO", live: LiveStatusHandler | None = None
) -> None:
    """Run until SIGTERM or SIGINT, on one asyncio reactor; BrokerError when the broker
    cannot be reached at start."""
    dispatcher = Dispatcher(config, log_level)

    async def main(loop: asyncio.AbstractEventLoop) -> None:
        await dispatcher.lead(loop)
        if live is not None and dispatcher.scheduler is not None:
            live.status = dispatcher.status_line
            dispatcher.scheduler.add_job(live.refresh, "interval", seconds=1, id="newsmon:live")
        await dispatcher.stopped.wait()

    run_on_reactor(main, dispatcher.shared)
    logger.info("newsmon schedule: stopped")
