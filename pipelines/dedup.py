"""Dedup pipeline: after extraction, before tagging.

- The same article: a page reached by a URL already stored, or the same text under another
  URL of the same outlet (print, AMP versions), gets its stored id, so tagging is skipped and
  the store only records the new URLs.
- A copy: the same text at another outlet (a wire story run word for word), or a near copy
  (republication with another headline, a dateline, other boilerplate, a teaser):
  `duplicate_of` is set to the original of its group of copies, found by the text's
  fingerprint or through the near-duplicate index (`crawler.match.near_duplicates`), which holds
  originals only (`crawler.store.indexes`): loaded from stored signatures on first use, it
  grows as originals are stored, here or by another writer, and loses an original that an
  earlier-published copy replaced (the store decides that, in the article's transaction:
  `pipelines.store.insert_article`).
- An update: a stored page fetched again (`recheck`) whose text changed materially is marked
  `changed`, to be re-tagged and stored as the article's new version.
- A headline-only article (`text_source` "feed": its page gave no text) is keyed by its title
  and summary. It never enters the near-duplicate index: a few dozen words make a poor
  original, and two entries sharing a boilerplate summary would look alike. It looks for an
  original there with a stricter similarity (`HEADLINE_THRESHOLD`). When a later fetch of its
  page gets the text (`upgraded`), it becomes a page article in place: same id, its review
  kept, re-tagged, and from then on in the index. A page article whose page now gives no text
  (a paywall went up) keeps its text.
"""

from __future__ import annotations

import difflib
import logging
from typing import TYPE_CHECKING

from sqlalchemy import Engine, bindparam, or_, select

from crawler.items import Article
from crawler.store.schema import article_urls, articles
from pipelines.indexed import IndexedPipeline

if TYPE_CHECKING:  # numpy, which a crawl that stores nothing never needs
    from crawler.match.near_duplicates import NearDuplicateIndex

logger = logging.getLogger(__name__)

MATERIAL_WORDS = 3  # an update changes at least this many words; fewer is a typo fix
# Jaccard similarity a headline-only article's title and summary needs with a stored original
# to be its copy: between short texts a shared sentence or two of boilerplate already weighs
# half (tests/test_neardup.py, `test_headline_only_*`).
HEADLINE_THRESHOLD = 0.8


# Built once, not per article: building and hashing a statement cost as much as running it.
_BY_URL = (
    select(article_urls.c.article_id)
    .where(article_urls.c.url.in_(bindparam("urls", expanding=True)))
    .limit(1)
)
_BY_TEXT = (
    select(articles.c.id, articles.c.url, articles.c.source, articles.c.duplicate_of)
    .where(
        or_(
            articles.c.fingerprint == bindparam("fingerprint"),
            articles.c.url.in_(bindparam("urls", expanding=True)),
        )
    )
    .order_by(articles.c.id)
)


def find_stored(
    engine: Engine, urls: list[str], text_fingerprint: str, source: str
) -> tuple[int | None, int | None]:
    """(the stored article a page of `source` is: the one reached by one of `urls`, or with
    the same text at the same outlet; else the original it copies word for word, when
    another outlet stored the same text first). None where there is none."""
    with engine.connect() as connection:
        by_url = connection.execute(_BY_URL, {"urls": urls}).scalar()
        if by_url is not None:
            return by_url, None
        same_text = connection.execute(
            _BY_TEXT, {"urls": urls, "fingerprint": text_fingerprint}
        ).all()
    for row in same_text:
        if row.url in urls or row.source == source:
            return row.id, None
    if same_text:
        first = same_text[0]
        return None, first.duplicate_of or first.id
    return None, None


def describe_change(old: str, new: str) -> str:
    """How many words an update added and removed: "" when it is not material."""
    matcher = difflib.SequenceMatcher(None, old.split(), new.split(), autojunk=False)
    added = removed = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += i2 - i1
            added += j2 - j1
    if added + removed < MATERIAL_WORDS:
        return ""
    return f"+{added} words, -{removed} words"


class DedupPipeline(IndexedPipeline):
    @property
    def index(self) -> NearDuplicateIndex:
        return self.indexes.near_duplicates

    def process_item(self, item: Article) -> Article:
        # The text's fingerprint and signature came with it from extraction
        # (crawler.match.fingerprints).
        item.id, copied = find_stored(
            self.engine, [item.url, *item.seen_urls], item.fingerprint, item.source
        )
        if item.id is not None:
            # A re-check looks for updates; any page with text may upgrade a headline-only one.
            if item.recheck or item.text_source == "page":
                self._compare_with_stored(item, updates=item.recheck)
            if not item.changed:
                self.stats.inc_value("newsmon/dedup/same_article")
            return item
        if copied is not None:  # another outlet's words, verbatim
            item.duplicate_of = copied
            self.stats.inc_value("newsmon/dedup/verbatim_copy")
            return item
        threshold = HEADLINE_THRESHOLD if item.text_source == "feed" else None
        item.duplicate_of = self.indexes.near_duplicate(item.signature, threshold=threshold)
        if item.duplicate_of is not None:
            self.stats.inc_value("newsmon/dedup/near_duplicate")
        return item

    def _compare_with_stored(self, item: Article, updates: bool) -> None:
        with self.engine.connect() as connection:
            stored = connection.execute(
                select(articles.c.fingerprint, articles.c.text, articles.c.text_source).where(
                    articles.c.id == item.id
                )
            ).one()
        if stored.text_source == "feed" and item.text_source == "page":
            # The paywall lifted: the page's text replaces the entry's summary.
            item.changed = item.upgraded = True
            added = describe_change(stored.text, item.text) or "the same words"
            item.change = f"page text replaces the headline-only summary ({added})"
            self.stats.inc_value("newsmon/dedup/upgraded")
            return
        if stored.text_source == "page" and item.text_source == "feed":
            return  # no text this time (a paywall went up): the stored text stays
        if updates and stored.fingerprint != item.fingerprint:
            item.change = describe_change(stored.text, item.text)
            item.changed = bool(item.change)
            if item.changed:
                self.stats.inc_value("newsmon/dedup/updated")
