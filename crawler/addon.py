"""The newsmon Scrapy add-on: turns the config directory into Scrapy settings.

Enabled in `crawler/settings.py`, so `newsmon crawl` and a plain `scrapy crawl feeds` from the
repository root configure themselves the same way. The config directory comes from the
`NEWSMON_CONFIG_DIR` setting (the CLI's `--config`), else `$NEWSMON_CONFIG`, else `./config`.
"""

from __future__ import annotations

from typing import Any

from scrapy.settings import BaseSettings

from crawler.config.files import Config, load_config
from crawler.config.settings import SETTINGS


class NewsmonAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        config = settings["NEWSMON_CONFIG"] or load_config(settings["NEWSMON_CONFIG_DIR"])
        # At the add-on's priority: below the settings module's ("project"), so none of these
        # may be set there; above Scrapy's defaults; `scrapy crawl -s NAME=VALUE` still wins.
        for name, value in scrapy_settings(config).items():
            settings.set(name, value, priority="addon")


def scrapy_settings(config: Config) -> dict[str, Any]:
    """The Scrapy settings that settings.yaml sets, with their values, as the table of
    `crawler.config.settings` maps them."""
    found: dict[str, Any] = {"NEWSMON_CONFIG": config}
    for spec in SETTINGS:
        found.update(spec.scrapy_values(getattr(config.settings, spec.name)))
    return found
