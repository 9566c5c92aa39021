"""One crawl pass in this process: the feeds spider over the configured sources, then a
summary built from the spider's per-source results and the crawl stats.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.config import Config
from crawler.database import engine_for
from crawler.spiders.feeds import FeedsSpider


@dataclass
class PassSummary:
    sources: dict[str, str] = field(default_factory=dict)  # name -> result line
    failed: list[str] = field(default_factory=list)
    new: int = 0
    same_article: int = 0
    known: int = 0
    skipped: int = 0
    storage_errors: int = 0
    hits: dict[str, int] = field(default_factory=dict)  # topic -> new articles tagged


def project_settings() -> Settings:
    """newsmon's Scrapy settings module alone: what a runner shared by many crawls may hold
    (Scrapy merges a runner's settings into each crawler's, same priority winning)."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    return settings


def crawler_settings(config: Config, source_names: list[str] | None = None,
                     log_level: str | None = None) -> Settings:  # fmt: skip
    settings = project_settings()
    settings.set("NEWSMON_CONFIG", config, priority="cmdline")
    settings.set("NEWSMON_SOURCES", source_names or [], priority="cmdline")
    if log_level:
        settings.set("LOG_LEVEL", log_level, priority="cmdline")
    return settings


def run_pass(config: Config, source_names: list[str] | None = None,
             log_level: str | None = None) -> PassSummary:  # fmt: skip
    """Crawl once; raises ConfigError for unknown source names, StorageError for the store."""
    config.enabled_sources(source_names)  # unknown names fail before anything starts
    engine_for(config.settings.database)  # an unreachable store fails before the crawl
    process = CrawlerProcess(crawler_settings(config, source_names, log_level))
    crawler = process.create_crawler(FeedsSpider)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    spider: FeedsSpider = crawler.spider  # type: ignore[assignment]
    summary = PassSummary()
    for name, outcome in spider.results.items():
        failed = outcome.status == "error"
        summary.sources[name] = f"failed: {outcome.summary}" if failed else outcome.summary
        if failed:
            summary.failed.append(name)
    summary.new = stats.get("newsmon/store/new", 0)
    summary.same_article = stats.get("newsmon/store/same_article", 0)
    summary.known = stats.get("newsmon/article/known", 0)
    summary.skipped = sum(
        stats.get(f"newsmon/{key}", 0)
        for key in ("extract/no_text", "article/not_html", "article/failed")
    )
    summary.storage_errors = stats.get("newsmon/store/error", 0)
    summary.hits = {
        topic.name: stats.get(f"newsmon/tag/{topic.name}", 0) for topic in config.topics
    }
    return summary
