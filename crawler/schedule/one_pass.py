"""One crawl pass in this process: the feeds spider over the configured sources, then a
summary built from the spider's per-source results and the crawl stats.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Imported here, not by the first crawler's downloader: importing it runs `inspect.stack()`
# three times (Scrapy's deprecated TLS class aliases), whose cost grows with the depth of the
# stack, and from inside a crawler's start that was a sixth of the CPU of a pass that finds
# nothing new (0.4 s).
import scrapy.core.downloader.handlers.http11  # noqa: F401
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from crawler.config.files import Config, Source
from crawler.extensions import SharedResources
from crawler.schedule.live_view import LiveStatusHandler
from crawler.schedule.polling import Outcome
from crawler.spiders import SPIDERS
from crawler.store.indexes import ArticleIndexes

__all__ = [
    "PassSummary",
    "crawler_settings",
    "pass_crawler",
    "pass_outcome",
    "project_settings",
    "run_pass",
]


@dataclass
class PassSummary:
    sources: dict[str, str] = field(default_factory=dict)  # name -> result line
    failed: list[str] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)  # answered, but articles failed
    interrupted: list[str] = field(default_factory=list)
    signal: int | None = None  # the signal that interrupted the pass (SIGINT, SIGTERM)
    failed_articles: int = 0  # their links are owed to the next pass
    new: int = 0
    headline_only: int = 0  # of the new: kept with their entry's title and summary (no text)
    same_article: int = 0
    known: int = 0
    skipped: int = 0
    storage_errors: int = 0
    hits: dict[str, int] = field(default_factory=dict)  # topic -> new articles stored with it

    def as_json(self) -> dict[str, Any]:
        """The summary for scripts (`newsmon crawl --json`): each source's status and result
        line, and the counts of the text summary."""
        status = {name: "failed" for name in self.failed}
        status |= {name: "degraded" for name in self.degraded}
        status |= {name: "interrupted" for name in self.interrupted}
        return {
            "sources": {
                name: {"status": status.get(name, "ok"), "result": line}
                for name, line in self.sources.items()
            },
            "articles": {
                "new": self.new,
                "headline_only": self.headline_only,
                "known": self.known + self.same_article,
                "skipped": self.skipped,
                "owed": self.failed_articles,
                "storage_errors": self.storage_errors,
            },
            "hits": self.hits,
            "interrupted_by": signal.Signals(self.signal).name if self.signal else None,
        }


class _CrawlerProcess(CrawlerProcess):
    """Scrapy's process, remembering which signal stopped it (for the exit code)."""

    signal: int | None = None

    def _signal_shutdown(self, signum: int, frame: Any) -> None:
        self.signal = signum
        super()._signal_shutdown(signum, frame)


def project_settings() -> Settings:
    """newsmon's Scrapy settings module alone: what a runner shared by many crawls may hold
    (Scrapy merges a runner's settings into each crawler's, same priority winning)."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    return settings


def crawler_settings(
    config: Config,
    source_names: list[str] | None = None,
    log_level: str | None = None,
    shared: SharedResources | None = None,
) -> Settings:
    """A pass's settings; its crawlers share `shared` (the process's engines, extraction pool
    and heap housekeeping), new ones if not given."""
    settings = project_settings()
    settings.set("NEWSMON_SHARED_RESOURCES", shared or SharedResources(), priority="cmdline")
    settings.set("NEWSMON_CONFIG", config, priority="cmdline")
    settings.set("NEWSMON_SOURCES", source_names or [], priority="cmdline")
    if log_level:
        settings.set("LOG_LEVEL", log_level, priority="cmdline")
    # newsmon's log handler (crawler.cli.main.setup_logging, with crawler.logs.LibraryFilter),
    # not Scrapy's, which would print its banner and every library line again.
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    return settings


def pass_crawler(
    config: Config,
    source: Source,
    log_level: str,
    shared: SharedResources,
    indexes: ArticleIndexes,
    extra: dict[str, Any] | None = None,
) -> Crawler:
    """The crawler of one pass of one source inside a long-lived process (`newsmon run`, a
    `newsmon worker`): the process's extraction pool and indexes, one log line per pass."""
    settings = crawler_settings(config, [source.name], log_level, shared)
    settings.set("LOGSTATS_INTERVAL", 0, priority="cmdline")  # one line per pass instead
    settings.set("NEWSMON_INDEXES", indexes, priority="cmdline")
    for name, value in (extra or {}).items():
        settings.set(name, value, priority="cmdline")
    return Crawler(SPIDERS[source.kind], settings)


def pass_outcome(crawler: Crawler, name: str) -> Outcome:
    """The source's outcome from its pass's crawler; an error when the pass crashed first."""
    spider = crawler.spider
    return (spider.results.get(name) if spider else None) or Outcome("error", "no result")


def run_pass(
    config: Config,
    source_names: list[str] | None = None,
    log_level: str | None = None,
    live: LiveStatusHandler | None = None,
) -> PassSummary:
    """Crawl once; raises ConfigError for unknown source names, StorageError for the store.

    One crawler per kind of source with something to poll, in one process and one reactor.
    With `live` (standard error is a terminal), its status line shows the pass's progress.
    """
    kinds = {source.kind for source in config.enabled_sources(source_names)}
    shared = SharedResources()
    # An unreachable store fails before the crawl.
    engine = shared.engines.writer(config.settings.database)
    summary = PassSummary()
    if not kinds:
        return summary
    settings = crawler_settings(config, source_names, log_level, shared)
    # One set of indexes for the pass's crawlers: each would load the same store otherwise.
    indexes = ArticleIndexes(engine)
    settings.set("NEWSMON_INDEXES", indexes, priority="cmdline")
    process = _CrawlerProcess(settings)
    crawlers = [process.create_crawler(spider) for kind, spider in SPIDERS.items() if kind in kinds]
    for crawler in crawlers:
        process.crawl(crawler)
    if live is not None:
        _show_progress(live, crawlers, len(config.enabled_sources(source_names)))
    try:
        process.start()
    finally:
        shared.engines.close()
    if live is not None:
        live.clear()
    stats: Counter[str] = Counter()
    for crawler in crawlers:
        stats.update({k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, int)})
        for name, outcome in crawler.spider.results.items():
            summary.sources[name] = describe_outcome(outcome)
            summary.failed_articles += outcome.failed
            if outcome.status == "error":
                summary.failed.append(name)
            elif outcome.status == "interrupted":
                summary.interrupted.append(name)
            elif outcome.degraded:
                summary.degraded.append(name)
    summary.signal = process.signal
    summary.new = stats["newsmon/store/new"]
    summary.headline_only = stats["newsmon/store/new_headline_only"]
    summary.same_article = stats["newsmon/store/same_article"]
    summary.known = stats["newsmon/article/known"]
    summary.skipped = sum(
        stats[f"newsmon/{key}"] for key in ("extract/no_text", "article/not_html", "article/failed")
    )
    summary.storage_errors = stats["newsmon/store/error"]
    summary.hits = {topic.name: stats[f"newsmon/hits/{topic.name}"] for topic in config.topics}
    return summary


def _show_progress(live: LiveStatusHandler, crawlers: list[Crawler], sources: int) -> None:
    """Once a second, the status line: sources done of all, pages, new articles, page rate."""
    from twisted.internet import reactor, task  # installed by now: Scrapy chose asyncio's

    started = time.monotonic()

    def line() -> str:
        done = sum(len(c.spider.results) for c in crawlers if c.spider is not None)
        totals: Counter[str] = Counter()
        for crawler in crawlers:
            if crawler.stats is not None:
                totals.update(crawler.stats.get_stats())
        pages = totals["downloader/response_count"]
        rate = pages / max(time.monotonic() - started, 1e-3)
        return (
            f"crawl: {done}/{sources} sources done, {pages} pages ({rate:.1f}/s), "
            f"{totals['newsmon/store/new']} new articles"
        )

    live.status = line
    reactor.callWhenRunning(task.LoopingCall(live.refresh).start, 1.0)


def describe_outcome(outcome: Outcome) -> str:
    """A source's result in one line: "ok, 12 entries, 3 new", "failed: HTTP 404"..."""
    if outcome.status == "error":
        return f"failed: {outcome.summary}"
    if outcome.status == "interrupted":
        return outcome.summary
    return f"{'degraded' if outcome.degraded else 'ok'}, {outcome.summary}"
