"""One crawl pass of the feeds spider in this process, recording every item the spider yields
(before any pipeline can drop it) as a JSON line: the spider's output at the item level.

Run in a subprocess (Scrapy's reactor starts once per process):
`python -m tests.collect_crawl CONFIG_DIR ITEMS.jsonl`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from crawler.config.files import load_config
from crawler.items import Article
from crawler.schedule.one_pass import _CrawlerProcess, crawler_settings
from crawler.spiders.feeds import FeedsSpider

FIELDS = ("source", "url", "link", "text_source", "feed_title", "feed_summary", "publisher")


class CollectPipeline:
    """First in line: writes the item as the spider yielded it, then passes it on."""

    def __init__(self, path: str) -> None:
        self.path = path

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings["COLLECT_ITEMS_TO"])

    def process_item(self, item: Article) -> Article:
        record = {name: value for name, value in asdict(item).items() if name in FIELDS}
        record["seen_urls"] = list(item.seen_urls)
        record["html"] = bool(item.html)
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return item


def main(config_dir: str, items: str) -> None:
    settings = crawler_settings(load_config(Path(config_dir)))
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    pipelines["tests.collect_crawl.CollectPipeline"] = 1
    settings.set("ITEM_PIPELINES", pipelines, priority="cmdline")
    settings.set("COLLECT_ITEMS_TO", items, priority="cmdline")
    process = _CrawlerProcess(settings)
    process.crawl(process.create_crawler(FeedsSpider))
    process.start()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
