"""The add-on turns settings.yaml into Scrapy settings; risky Scrapy defaults are off."""

from __future__ import annotations

import re

import pytest

from crawler.addon import NewsmonAddon
from crawler.config.files import load_config
from crawler.config.settings import BY_NAME
from crawler.schedule.one_pass import crawler_settings
from tests.conftest import TEST_SETTINGS, run_cli
from tests.outlets import TOPICS, page, rss2


def test_addon_maps_settings(make_config) -> None:
    directory = make_config(
        [],
        user_agent="acme-monitor/1.0 (+https://acme.example/bot)",
        concurrent_requests_per_host=3,
        download_timeout=12,
        max_download_size=12345,
        obey_robots_txt=False,
    )
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


def test_every_setting_the_addon_maps_reaches_the_crawlers(make_config) -> None:
    """settings.yaml wins over the settings module and the spiders: a value set there at a
    higher priority than the add-on's silently replaced `extract_workers`."""
    from scrapy.crawler import Crawler
    from scrapy.settings import Settings

    from crawler.addon import scrapy_settings
    from crawler.spiders import SPIDERS

    directory = make_config(
        [],
        user_agent="acme-monitor/1.0 (+https://acme.example/bot)",
        keep_html=False,
        extract_workers=1,
        allow_private_networks=False,
        max_entries_per_feed=7,
        download_timeout=12,
        concurrent_requests=5,
        concurrent_requests_per_host=3,
        download_delay=1.5,
        autothrottle=True,
        obey_robots_txt=True,
        retry_times=4,
        max_download_size=12345,
    )
    config = load_config(directory)
    expected = scrapy_settings(config)
    plain = Settings()
    plain.setmodule("crawler.settings", priority="project")
    for name in expected:  # every value differs from what Scrapy or our module would give
        if name != "NEWSMON_CONFIG":
            assert plain.get(name) != expected[name], name
    for spider in SPIDERS.values():
        crawler = Crawler(spider, crawler_settings(config))
        crawler.addons.load_settings(crawler.settings)
        found = {name: crawler.settings.get(name) for name in expected}
        assert found == expected, spider.name


@pytest.mark.parametrize("workers", [0, 1])
def test_extract_workers_from_settings_yaml(site, make_config, workers: int) -> None:
    """One real crawl per value: the log says how extraction runs (one per core would be 2
    on the test machines, so 1 is told apart from the default)."""
    story = site.add("/story", page("en_pentagon_ai.html"))
    site.add("/feed.xml", rss2([("Story", story)]))
    config = make_config(
        [{"name": "wire", "url": site.url("/feed.xml")}], TOPICS, extract_workers=workers
    )
    result = run_cli("crawl", "--config", str(config), "--log-level", "INFO")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Articles: 1 new" in result.stdout
    if workers:
        assert f"Extraction in {workers} worker processes" in result.stderr
        assert re.search(r"Extraction workers stopped \(pids \d+\)\n", result.stderr)
    else:
        assert "Extraction in" not in result.stderr and "Extraction workers" not in result.stderr


def test_retry_times_help_names_the_codes_scrapy_retries() -> None:
    """The help once promised retries of 429, which RETRY_HTTP_CODES leaves out on purpose."""
    from crawler import settings

    help_text = BY_NAME["retry_times"].help
    told = {int(code) for code in re.findall(r"\b[1-5]\d\d\b", help_text.split(".")[0])}
    assert told == set(settings.RETRY_HTTP_CODES)
    assert 429 not in settings.RETRY_HTTP_CODES and "A 429 is not retried at once" in help_text
