"""The newsmon Scrapy add-on: turns the config directory into Scrapy settings.

Enabled in `crawler/settings.py`, so `newsmon crawl` and a plain `scrapy crawl feeds` from the
repository root configure themselves the same way. The config directory comes from the
`NEWSMON_CONFIG_DIR` setting (the CLI's `--config`), else `$NEWSMON_CONFIG`, else `./config`.
"""

from __future__ import annotations

from typing import Any

from scrapy.settings import BaseSettings

from crawler.config.files import Config, load_config


class NewsmonAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        config = settings["NEWSMON_CONFIG"] or load_config(settings["NEWSMON_CONFIG_DIR"])
        # At the add-on's priority: below the settings module's ("project"), so none of these
        # may be set there; above Scrapy's defaults; `scrapy crawl -s NAME=VALUE` still wins.
        for name, value in scrapy_settings(config).items():
            settings.set(name, value, priority="addon")


def scrapy_settings(config: Config) -> dict[str, Any]:
    """The Scrapy settings that settings.yaml sets, with their values."""
    ours = config.settings
    return {
        "NEWSMON_CONFIG": config,
        "NEWSMON_DATABASE": ours.database,
        "NEWSMON_KEEP_HTML": ours.keep_html,
        "NEWSMON_EXTRACT_WORKERS": ours.extract_workers,
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": ours.allow_private_networks,
        "NEWSMON_MAX_ENTRIES_PER_FEED": ours.max_entries_per_feed,
        "USER_AGENT": ours.user_agent,
        "DOWNLOAD_TIMEOUT": ours.download_timeout,
        "CONCURRENT_REQUESTS": ours.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": ours.concurrent_requests_per_host,
        "DOWNLOAD_DELAY": ours.download_delay,
        "AUTOTHROTTLE_ENABLED": ours.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(ours.download_delay, 0.5),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(ours.concurrent_requests_per_host),
        "ROBOTSTXT_OBEY": ours.obey_robots_txt,
        "RETRY_TIMES": ours.retry_times,
        "DOWNLOAD_MAXSIZE": ours.max_download_size,
        "DOWNLOAD_WARNSIZE": ours.max_download_size // 2,
    }
