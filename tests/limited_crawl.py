"""One crawl process for tests/test_host_limits.py, set up as a distributed worker's crawler:
newsmon's add-on and downloader middlewares, `NEWSMON_SHARED_HOST_LIMITS` at the command
line's priority, and a spider that only fetches the URLs it is given.

    python -m tests.limited_crawl CONFIG_DIR '{"SCRAPY_SETTING": value}' URL...

Prints the crawl's `newsmon/host_limits/*` stats as JSON on its last line; exits 1 when the
crawl did not finish.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator

from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response

from crawler.settings import DOWNLOADER_MIDDLEWARES


class Pages(Spider):
    name = "pages"

    def __init__(self, urls: list[str], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.urls = urls

    async def start(self) -> AsyncIterator[Request]:
        for url in self.urls:
            yield Request(url, dont_filter=True)

    def parse(self, response: Response) -> None:
        return None


def main(config_dir: str, extra: str, *urls: str) -> None:
    process = CrawlerProcess(
        {
            "ADDONS": {"crawler.addon.NewsmonAddon": 0},
            "NEWSMON_CONFIG_DIR": config_dir,
            "DOWNLOADER_MIDDLEWARES": DOWNLOADER_MIDDLEWARES,
            "TELNETCONSOLE_ENABLED": False,
            "LOG_LEVEL": "WARNING",
        }
    )
    for name, value in json.loads(extra).items():
        process.settings.set(name, value, priority="cmdline")
    crawler = process.create_crawler(Pages)
    process.crawl(crawler, urls=list(urls))
    process.start()
    stats = crawler.stats.get_stats()
    print(json.dumps({k: v for k, v in stats.items() if k.startswith("newsmon/host_limits/")}))
    if stats.get("finish_reason") != "finished":  # a crawl that could not start logs why
        sys.exit(1)


if __name__ == "__main__":
    main(*sys.argv[1:])
