"""The add-on turns settings.yaml into Scrapy settings; risky Scrapy defaults are off."""

from __future__ import annotations

from crawler.addon import NewsmonAddon
from crawler.config import load_config
from crawler.run_pass import crawler_settings
from tests.conftest import TEST_SETTINGS


def test_addon_maps_settings(make_config) -> None:  # type: ignore[no-untyped-def]
    directory = make_config([], user_agent="acme-monitor/1.0 (+https://acme.example/bot)",
                            concurrent_requests_per_host=3, download_timeout=12,
                            max_download_size=12345, obey_robots_txt=False)  # fmt: skip
    settings = crawler_settings(load_config(directory))
    NewsmonAddon().update_settings(settings)
    assert settings["USER_AGENT"] == "acme-monitor/1.0 (+https://acme.example/bot)"
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 3
    assert settings.getfloat("DOWNLOAD_TIMEOUT") == 12
    assert settings.getint("DOWNLOAD_MAXSIZE") == 12345
    assert settings.getbool("ROBOTSTXT_OBEY") is False
    assert (
        settings.getbool("NEWSMON_ALLOW_PRIVATE_NETWORKS")
        is TEST_SETTINGS["allow_private_networks"]
    )
    # Both open local control ports; a crawler of hostile pages must not.
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
    assert settings.getbool("COOKIES_ENABLED") is False
