"""Story pipeline: after tagging, before storage. Puts each new article in a story cluster:
a near copy in its original's story, another article in the story of a recent article from any
outlet about the same event (`crawler.match.stories`), else in a story of its own (whose id is the
article's, set by the store).
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime

from sqlalchemy import select

from crawler.items import Article
from crawler.match.stories import StoryIndex, story_terms
from crawler.store.crawl_state import as_utc
from crawler.store.database import engine_for
from crawler.store.schema import articles
from pipelines.indexed import IndexedPipeline

logger = logging.getLogger(__name__)


@functools.cache
def story_index(database: str) -> StoryIndex:
    """The process's window of recent articles, loaded from the store."""
    index = StoryIndex()
    since = datetime.now(UTC) - index.window
    with engine_for(database).connect() as connection:
        rows = connection.execute(
            select(
                articles.c.id,
                articles.c.story_id,
                articles.c.title,
                articles.c.text,
                articles.c.fetched_at,
            )
            .where(articles.c.fetched_at >= since, articles.c.duplicate_of.is_(None))
            .order_by(articles.c.fetched_at, articles.c.id)
        )
        for row in rows:
            terms, title_terms = story_terms(row.title, row.text)
            index.add(row.id, row.story_id or row.id, terms, title_terms, as_utc(row.fetched_at))
    return index


class StoryPipeline(IndexedPipeline):
    load_index = staticmethod(story_index)

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
            terms, title_terms = story_terms(item.title, item.text)
            item.story_id = self.index.find(terms, title_terms, datetime.now(UTC))
        if item.story_id is not None:
            self.stats.inc_value("newsmon/story/joined")
        return item

    def stored(self, item: Article) -> None:
        """A stored original joins the window, so later articles can join its story."""
        if item.duplicate_of is None and not item.recheck:
            terms, title_terms = story_terms(item.title, item.text)
            self.index.add(
                item.id,
                item.story_id or item.id,
                terms,
                title_terms,
                item.fetched_at or datetime.now(UTC),
            )
