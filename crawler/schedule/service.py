"""`newsmon run`: keeps every enabled source on its schedule, unattended, for weeks.

The schedule stage of the flow. One long-lived asyncio reactor; APScheduler's
`AsyncIOScheduler` on its loop fires one job per source, and each job runs one pass of the
spider for that kind of source through Scrapy's `AsyncCrawlerRunner` (the reactor is never
stopped between passes: it cannot be restarted). `crawler.schedule.polling` decides when the next
pass is due; the answer is stored with the source, so the schedule survives restarts.

A source never overlaps itself: its next job is added only when its pass has ended. Runs
missed during downtime coalesce into one catch-up pass. A schedule never stops a source: when
the next run cannot be computed, the source falls back to the default interval and is
flagged. Requests from `newsmon sources poll`/`reset` and the dashboard are read every
second. Config files are re-read when they change or on SIGHUP; an invalid edit is refused
and the running config stays. SIGTERM or SIGINT stops running passes cleanly (what was stored
stays; interrupted sources are due at once next time); a second signal exits at once.
Alerts (crawler.alerts) are checked every minute and after a pass with new hits.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from scrapy.crawler import AsyncCrawlerRunner, Crawler

from crawler.config.files import (
    WATCHED_FILES,
    Config,
    ConfigError,
    Source,
    load_config,
)
from crawler.config.settings import parse_duration
from crawler.extensions import SharedResources
from crawler.schedule.live_view import LiveStatusHandler
from crawler.schedule.one_pass import pass_crawler, pass_outcome, project_settings
from crawler.schedule.polling import Outcome, Policy, adapt, bounds, first_run, next_run, policy_for
from crawler.schedule.process import StopsOnSignal, run_on_reactor
from crawler.store import source_requests
from crawler.store.crawl_state import CrawlState
from crawler.store.indexes import ArticleIndexes

__all__ = ["Service", "describe_delay", "run_forever", "stored_interval"]

logger = logging.getLogger("newsmon.run")

STOP_TIMEOUT = 25.0  # seconds for running passes to close after SIGTERM (the budget is 30)
WATCH_EVERY = 2.0  # seconds between checks of the config files
REQUESTS_EVERY = 1.0  # seconds between checks for poll and reset requests (one small query)
FALLBACK_EVERY = 3600.0  # seconds, when even the default interval cannot be read
ALERTS_EVERY = 60.0  # seconds between checks for alerts due (crawler.alerts), and after hits


def describe_delay(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def stored_interval(policy: Policy, interval: float | None) -> float:
    """The interval kept in the store, within the bounds of the current config (edited, or
    from a version that accepted any duration); a fixed schedule starts from `every`."""
    if not interval or not policy.adaptive or policy.cron:
        return policy.every
    low, high = bounds(policy)
    return min(max(interval, low), high)


@dataclass
class Tracked:
    """What the service keeps in memory about one scheduled source."""

    source: Source
    policy: Policy
    interval: float
    failures: int = 0
    next_run_at: datetime | None = None
    schedule_error: str | None = None  # why the last next run was the default interval
    worker: str | None = None  # the `newsmon worker` that ran its last pass (distributed mode)


class Service(StopsOnSignal):
    def __init__(
        self, config: Config, log_level: str = "INFO", rng: random.Random | None = None
    ) -> None:
        self.config = config
        self.log_level = log_level
        self.rng = rng or random.Random()
        # Every pass's crawler shares the store's engines and the extraction workers (started
        # by the first pass with articles to extract and stopped when the service exits).
        self.shared = SharedResources()
        engine = self.shared.engines.writer(config.settings.database)
        self.state = CrawlState(engine)
        # Every pass's crawlers share them: loaded once, then kept up to date from the store.
        self.indexes = ArticleIndexes(engine)
        self.tracked: dict[str, Tracked] = {}
        self.running: dict[str, Crawler] = {}
        self.waiting: set[str] = set()  # due, waiting for one of the `concurrent_passes`
        self.turns = asyncio.Semaphore(config.settings.concurrent_passes)
        self.stopping = False
        self.runner: AsyncCrawlerRunner | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.config_stamp = self._stamp()
        self.requests_error: str | None = None  # the last failure to read requests, logged once
        self.alerting = asyncio.Lock()  # one check for alerts at a time: never a double send
        self.stopped = asyncio.Event()

    # --- lifecycle -----------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.runner = AsyncCrawlerRunner(project_settings())
        self.scheduler = AsyncIOScheduler(event_loop=loop, timezone=UTC)
        self.scheduler.add_job(
            self._watch_config,
            "interval",
            seconds=WATCH_EVERY,
            id="newsmon:config",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self.check_requests,
            "interval",
            seconds=REQUESTS_EVERY,
            id="newsmon:requests",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self.send_alerts,
            "interval",
            seconds=ALERTS_EVERY,
            id="newsmon:alerts",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),  # what came due while stopped goes out at start
        )
        self.scheduler.start()
        self._sync_sources()
        self.listen(loop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        if self.config.alerts.rules:
            logger.info(
                "Alerts: %d rules, checked every %.0fs", len(self.config.alerts.rules), ALERTS_EVERY
            )
        logger.info(
            "newsmon run: %d sources scheduled (config %s)",
            len(self.tracked),
            self.config.directory,
        )

    async def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        interrupted = list(self.running)
        if self.runner is not None and self.running:
            try:
                await asyncio.wait_for(self.runner.stop(), STOP_TIMEOUT)
            except TimeoutError:
                logger.warning("Passes still running after %ss; leaving them", STOP_TIMEOUT)
        # An interrupted pass is due again at once, and its next run is never earlier than
        # its last one (the stored next run was when the interrupted pass began).
        now = datetime.now(UTC)
        for name in interrupted:
            tracked = self.tracked.get(name)
            if tracked is not None:
                self._save(tracked, now)
        self.stopped.set()

    # --- scheduling ----------------------------------------------------------------------

    def _sync_sources(self) -> None:
        """Make the jobs match the enabled sources of the current config."""
        wanted = {source.name: source for source in self.config.enabled_sources()}
        for name in list(self.tracked):
            if name not in wanted:
                del self.tracked[name]
                self._remove_job(name)
                logger.info("Source %s: no longer scheduled", name)
        now = datetime.now(UTC)
        stored = self.state.all() if wanted.keys() - self.tracked.keys() else {}
        for name, source in wanted.items():
            policy = policy_for(source, self.config.settings)
            known = self.tracked.get(name)
            if known and known.source == source:
                known.policy = policy  # settings' defaults may have changed
                continue
            if known:  # edited: start again from its new settings
                known.source, known.policy, known.interval = source, policy, policy.every
                self._plan(known, now + timedelta(seconds=self.rng.uniform(0, 1)))
                continue
            row = stored.get(name, {})
            failures = int(row.get("consecutive_failures") or 0)
            tracked = Tracked(
                source, policy, stored_interval(policy, row.get("interval")), failures
            )
            self.tracked[name] = tracked
            when = first_run(row.get("next_run_at"), now, policy, tracked.interval, self.rng)
            self._plan(tracked, when)

    def _plan(self, tracked: Tracked, when: datetime) -> None:
        """Schedule the next pass, then store it: a store that fails loses the note, not the
        pass."""
        tracked.next_run_at = when
        if self.scheduler is not None and not self.stopping:
            self.scheduler.add_job(
                self.poll,
                DateTrigger(when),
                args=[tracked.source.name],
                id=f"source:{tracked.source.name}",
                replace_existing=True,
                max_instances=1,  # never two passes of one source
                coalesce=True,
                misfire_grace_time=None,  # late is better than never
            )
        self._save(tracked, when)

    def _save(self, tracked: Tracked, when: datetime) -> None:
        try:
            self.state.save_schedule(
                tracked.source.name,
                tracked.source.url,
                tracked.interval,
                when,
                tracked.schedule_error,
                tracked.worker,
            )
        except Exception as exc:  # noqa: BLE001 - the schedule in memory stands
            logger.error("Source %s: could not store its next run: %s", tracked.source.name, exc)

    def default_interval(self) -> float:
        try:
            return float(parse_duration(self.config.settings.every))
        except ValueError:
            return FALLBACK_EVERY

    def _next_run(self, tracked: Tracked, outcome: Outcome, now: datetime) -> datetime:
        """When to poll after this outcome. Never raises: a schedule that cannot be computed
        (a crontab expression that never fires, an overflow) falls back to the default
        interval, and the source is flagged until a next run is computed normally."""
        try:
            interval = adapt(tracked.policy, tracked.interval, outcome)
            when = next_run(
                tracked.policy, interval, tracked.failures, outcome.retry_after, now, self.rng
            )
        except Exception as exc:  # noqa: BLE001 - whatever it is, the source stays scheduled
            fallback = self.default_interval()
            tracked.interval = fallback  # an interval that broke the arithmetic is not kept
            tracked.schedule_error = f"{type(exc).__name__}: {exc}"
            logger.error(
                "Source %s: cannot compute the next run (%s); next in %s, the default interval",
                tracked.source.name,
                tracked.schedule_error,
                describe_delay(fallback),
            )
            return now + timedelta(seconds=fallback)
        tracked.interval, tracked.schedule_error = interval, None
        return when

    def _remove_job(self, name: str) -> None:
        if self.scheduler is not None and self.scheduler.get_job(f"source:{name}"):
            self.scheduler.remove_job(f"source:{name}")

    async def poll(self, name: str) -> None:
        tracked = self.tracked.get(name)
        if tracked is None or self.stopping or self.busy(name):
            return
        assert self.runner is not None
        self.waiting.add(name)
        try:
            async with self.turns:  # at most `concurrent_passes` at once
                if self.stopping or name not in self.tracked:
                    return
                tracked = self.tracked[name]
                crawler = pass_crawler(
                    self.config, tracked.source, self.log_level, self.shared, self.indexes
                )
                self.running[name] = crawler
                self.waiting.discard(name)
                try:
                    await self.runner.crawl(crawler)
                except Exception:
                    logger.exception("Source %s: the pass crashed", name)
                finally:
                    del self.running[name]
        finally:
            self.waiting.discard(name)
        if self.stopping or name not in self.tracked:
            return
        outcome = pass_outcome(crawler, name)
        try:
            self.after_pass(tracked, outcome, crawler.stats.get_stats() if crawler.stats else {})
        except Exception:  # a job that raises is never run again: plan the next one anyway
            logger.exception("Source %s: reporting the pass failed", name)
            if tracked.next_run_at is None or tracked.next_run_at <= datetime.now(UTC):
                self._plan(tracked, self._next_run(tracked, outcome, datetime.now(UTC)))

    def after_pass(self, tracked: Tracked, outcome: Outcome, stats: dict[str, Any]) -> None:
        """Plan the next pass of a source after this one, and log a line about it."""
        now = datetime.now(UTC)
        tracked.failures = tracked.failures + 1 if outcome.status == "error" else 0
        when = self._next_run(tracked, outcome, now)
        self._plan(tracked, when)
        hits = ", ".join(
            f"{topic.name} {stats[f'newsmon/hits/{topic.name}']}"
            for topic in self.config.topics
            if stats.get(f"newsmon/hits/{topic.name}")
        )
        line = f"degraded: {outcome.summary}" if outcome.degraded else outcome.summary
        if outcome.status == "error":
            line = f"failed ({tracked.failures} in a row): {outcome.summary}"
        logger.info(
            "Source %s: %s; %d stored%s; next in %s",
            tracked.source.name,
            line,
            stats.get("newsmon/store/new", 0),
            f"; hits {hits}" if hits else "",
            describe_delay((when - now).total_seconds()),
        )
        if hits and self.config.alerts.rules:
            asyncio.ensure_future(self.send_alerts())  # new hits: their alerts now

    async def send_alerts(self) -> None:
        """Send the alerts due (new hits, digests, retries, spikes, source health), off the
        reactor's thread; a check already under way covers this one."""
        if not self.config.alerts.rules or self.alerting.locked() or self.stopping:
            return
        from crawler.alerts.deliver import send_due

        async with self.alerting:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(None, send_due, self.state.engine, self.config)
            except Exception:
                logger.exception("Sending alerts failed")

    async def check_requests(self) -> None:
        """Honour `newsmon sources poll` and the dashboard's "Poll now" (a pass now), and
        `newsmon sources reset` (no next run left: a pass now, failures as reset)."""
        try:
            found = source_requests.pending(self.state.engine)
        except Exception as exc:  # noqa: BLE001 - the store may be down a moment
            if str(exc) != self.requests_error:
                logger.warning("Cannot read poll requests: %s", exc)
            self.requests_error = str(exc)
            return
        self.requests_error = None
        now = datetime.now(UTC)
        for request in found:
            tracked = self.tracked.get(request.name)
            if tracked is None or self.busy(request.name) or self.stopping:
                continue  # a request made during a pass is honoured when the pass ends
            if request.poll_requested_at is not None:
                source_requests.take(self.state.engine, request.name, request.poll_requested_at)
                why = "poll requested"
            elif request.reset and tracked.next_run_at is not None:
                why = "failures and back-off reset"
            else:
                continue
            tracked.failures = request.failures  # zero after `sources reset`
            logger.info("Source %s: %s; polling now", request.name, why)
            self._plan(tracked, now)

    async def _retag(self, config: Config) -> None:
        """Bring stored articles in line with edited topics, off the reactor's thread."""
        from crawler.store.retag import retag

        engine = self.shared.engines.writer(config.settings.database)
        loop = asyncio.get_running_loop()
        try:
            report = await loop.run_in_executor(None, retag, engine, config.topics)
        except Exception:
            logger.exception("Re-tagging after the topics change failed")
            return
        changes = ", ".join(f"{name} +{c.gained}/-{c.lost}" for name, c in report.topics.items())
        logger.info(
            "Topics changed: %d articles re-tagged (%s)", report.articles, changes or "no topics"
        )

    def status_line(self) -> str:
        """Passes under way with their progress, then the next runs."""
        now = datetime.now(UTC)
        running = []
        for name, crawler in list(self.running.items()):
            stats = crawler.stats.get_stats() if crawler.stats else {}
            running.append(
                f"{name} ({stats.get('downloader/response_count', 0)} pages, "
                f"{stats.get('newsmon/store/new', 0)} new)"
            )
        upcoming = sorted(
            (t.next_run_at, name)
            for name, t in self.tracked.items()
            if t.next_run_at and name not in self.running
        )[:4]
        following = ", ".join(
            f"{name} in {describe_delay(max(0.0, (when - now).total_seconds()))}"
            for when, name in upcoming
        )
        return f"running: {', '.join(running) or 'nothing'} | next: {following or '-'}"

    # --- configuration -------------------------------------------------------------------

    def _stamp(self) -> tuple[float | None, ...]:
        stamps = []
        for name in WATCHED_FILES:
            path = Path(self.config.directory) / name
            stamps.append(path.stat().st_mtime if path.exists() else None)
        return tuple(stamps)

    async def _watch_config(self) -> None:
        stamp = self._stamp()
        if stamp != self.config_stamp:
            self.config_stamp = stamp
            self.reload()

    def busy(self, name: str) -> bool:
        """A pass of the source is under way or waits its turn: the next is planned when it
        ends."""
        return name in self.running or name in self.waiting

    def load(self) -> Config:
        return load_config(self.config.directory)

    def reload(self) -> None:
        try:
            config = self.load()
        except ConfigError as exc:
            logger.error("Config change refused, the running config stays: %s", exc)
            return
        if config.settings.database != self.config.settings.database:
            logger.warning("The database setting changed: it takes effect after a restart")
            config = replace(config, settings=self.config.settings)
        topics_changed = config.topics != self.config.topics
        self.config = config
        self._sync_sources()
        logger.info(
            "Config reloaded: %d sources scheduled, %d topics",
            len(self.tracked),
            len(config.topics),
        )
        if topics_changed:
            asyncio.ensure_future(self._retag(config))


def run_forever(
    config: Config, log_level: str = "INFO", live: LiveStatusHandler | None = None
) -> None:
    """Run until SIGTERM or SIGINT, on one asyncio reactor."""
    service = Service(config, log_level)

    async def main(loop: asyncio.AbstractEventLoop) -> None:
        service.start(loop)
        if live is not None and service.scheduler is not None:
            live.status = service.status_line
            service.scheduler.add_job(live.refresh, "interval", seconds=1, id="newsmon:live")
        await service.stopped.wait()

    run_on_reactor(main, service.shared)
    logger.info("newsmon run: stopped")
