"""The newsmon Scrapy add-on: turns the config directory into Scrapy settings.

Enabled in `crawler/settings.py`, so `newsmon crawl` and a plain `scrapy crawl feeds` from the
repository root configure themselves the same way. The config directory comes from the
`NEWSMON_CONFIG_DIR` setting (the CLI's `--config`), else `$NEWSMON_CONFIG`, else `./config`.

A crawler that shares its per-host limits with other processes (`NEWSMON_SHARED_HOST_LIMITS`,
set by the distributed mode's workers) gets its `download_delay` as the shared pace instead
of Scrapy's per-process one (`share_host_delay`).
"""

from __future__ import annotations

from typing import Any

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from crawler.config.files import Config, load_config
from crawler.config.settings import SETTINGS
from crawler.extensions import SharedResources


class NewsmonAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        config = settings["NEWSMON_CONFIG"] or load_config(settings["NEWSMON_CONFIG_DIR"])
        # At the add-on's priority: below the settings module's ("project"), so none of these
        # may be set there; above Scrapy's defaults; `scrapy crawl -s NAME=VALUE` still wins.
        for name, value in scrapy_settings(config).items():
            settings.set(name, value, priority="addon")
        # What the process's crawlers share (engines, extraction pool): the runner's, else
        # this crawler's own.
        if settings["NEWSMON_SHARED_RESOURCES"] is None:
            settings.set("NEWSMON_SHARED_RESOURCES", SharedResources(), priority="addon")
        if settings.getbool("NEWSMON_SHARED_HOST_LIMITS"):
            share_host_delay(settings)


def share_host_delay(settings: BaseSettings) -> None:
    """Move the delay between requests to one host from Scrapy's download slots, which space
    one process's requests, to the pace that `SharedHostLimitsMiddleware` keeps over all
    processes (`NEWSMON_HOST_DELAY`). Not both: a slot waits after the middleware, so its own
    delay (or AutoThrottle's, which it sets on the slot) would push this process's start past
    the one it reserved on the pace, closer to the next process's than the delay, and would
    add up with the pace for requests of one process."""
    moved = {
        "NEWSMON_HOST_DELAY": settings.getfloat("DOWNLOAD_DELAY"),
        "DOWNLOAD_DELAY": 0.0,
        "AUTOTHROTTLE_ENABLED": False,
    }
    for name, value in moved.items():
        # At least the priority it has: a `-s DOWNLOAD_DELAY=...` is moved as well.
        priority = max(settings.getpriority(name) or 0, SETTINGS_PRIORITIES["addon"])
        settings.set(name, value, priority=priority)


def scrapy_settings(config: Config) -> dict[str, Any]:
    """The Scrapy settings that settings.yaml sets, with their values, as the table of
    `crawler.config.settings` maps them."""
    found: dict[str, Any] = {"NEWSMON_CONFIG": config}
    for spec in SETTINGS:
        found.update(spec.scrapy_values(getattr(config.settings, spec.name)))
    return found
