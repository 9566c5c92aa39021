"""Story pipeline: after tagging, before storage. Puts each new article in a story cluster:
a near copy in its original's story, another article in the story of a recent article from any
outlet about the same event (`crawler.match.stories`, over the window of recent originals kept
by `crawler.store.indexes`), else in a story of its own (whose id is the article's, set by the
store).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select

from crawler.items import Article
from crawler.match.stories import StoryIndex, story_terms
from crawler.store.schema import articles
from pipelines.indexed import IndexedPipeline

logger = logging.getLogger(__name__)


class StoryPipeline(IndexedPipeline):
    @property
    def index(self) -> StoryIndex:
        return self.indexes.stories

    def process_item(self, item: Article) -> Article:
        if item.id is not None:  # stored already: its story stays
            return item
        if item.duplicate_of is not None:
            with self.engine.connect() as connection:
                original = connection.execute(
                    select(articles.c.story_id).where(articles.c.id == item.duplicate_of)
                ).scalar()
            item.story_id = original or item.duplicate_of
        else:
            # The dedup stage's near-duplicate lookup of this article refreshed both indexes
            # from the store a moment ago, in the same step (pipelines.indexed): another
            # refresh would cost as much (0.2 ms on SQLite, 1.3 ms on PostgreSQL) for nothing.
            item.story_terms = story_terms(item.title, item.text)
            item.story_id = self.indexes.story(*item.story_terms, datetime.now(UTC), refresh=False)
        if item.story_id is not None:
            self.stats.inc_value("newsmon/story/joined")
        return item
