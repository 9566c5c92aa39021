"""Tag pipeline: after dedup, before the story stage. Matches the topics of topics.yaml over
the title and the extracted text (never navigation or comments: extraction removed them).
"""

from __future__ import annotations

from crawler.items import Article
from crawler.match.terms import Matcher


class TagPipeline:
    def __init__(self, matcher: Matcher, stats) -> None:
        self.matcher = matcher
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings["NEWSMON_CONFIG"].matcher, crawler.stats)

    def process_item(self, item: Article) -> Article:
        if item.id is not None and not item.changed:  # already stored and tagged
            return item
        item.matches = dict(self.matcher.match(item.title, item.text))
        for topic in item.matches:
            self.stats.inc_value(f"newsmon/tag/{topic}")
        return item
