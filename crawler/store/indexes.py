"""The near-duplicate and story indexes of the stored articles, for the dedup and story stages.

`ArticleIndexes` holds both for one store: loaded from it on first use, told of each article
this process stores right after its commit (`pipelines.store`), and brought up to date from the
store before each lookup, so that articles stored by another process (a manual `crawl` beside
`newsmon run`, a second writer on PostgreSQL) are found too. It is an object, not a module
global: a crawl builds one per crawler unless its runner shares one through the
`NEWSMON_INDEXES` setting (`newsmon run` keeps one for its life; a `crawl` pass shares one
between its crawlers), and each test builds its own.

Why refresh an in-memory index rather than keep band keys and story terms in a table queried
per article: the near-duplicate index answers from one sorted array in tens of microseconds
(`crawler.match.near_duplicates`), where a table would hold 70 band keys per original (70
million rows at a million articles, with its index), cost 70 more inserts in each article's
transaction and 70 index probes per lookup; and the story stage weighs terms by their document
frequency over a sliding 3-day window, which would become an aggregate query per article. The
refresh is one primary-key range query per article, which returns no row unless another writer
stored something since: 0.2 ms on SQLite and 1.2 to 1.4 ms on PostgreSQL, a fifth to a quarter
of the store's own transaction of one article (`python bench/run.py indexes`).

Articles are seen by id, in order, with one care: on PostgreSQL an id is taken at insert and
becomes visible at commit, so a refresh can see id 11 before id 10 commits. The ids skipped
below the newest one seen are kept as holes and asked for again at each refresh, until they
appear or `HOLE_WAIT` has passed (an id that never appears was rolled back).

What a refresh does not see: an original that another process's store re-pointed to an
earlier-published copy stays in this index. Finding it does no harm: the store follows the
group to its current original in the new article's transaction (`group_original`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, bindparam, func, or_, select

from crawler.match.stories import StoryIndex, story_terms
from crawler.store.crawl_state import as_utc
from crawler.store.schema import articles

if TYPE_CHECKING:
    # Imported where an index is loaded or told of an article, not here: it imports numpy
    # (0.09 s), which a crawl that stores nothing never needs.
    from crawler.match.near_duplicates import NearDuplicateIndex

__all__ = ["HOLE_WAIT", "ArticleIndexes"]

logger = logging.getLogger(__name__)

LOAD_BATCH = 5000
# Seconds an id skipped by a refresh is asked for again: a store transaction lasts
# milliseconds, or seconds when it waits for another writer's lock on its group.
HOLE_WAIT = 300.0
# Skipped ids kept at most: an id sequence that jumps (PostgreSQL skips up to 32 after a
# crash) must not make every refresh ask for thousands of ids that will never appear.
MAX_HOLES = 1000

_TOP = select(func.max(articles.c.id))
_PRESENT = select(articles.c.id).where(
    articles.c.id > bindparam("low"), articles.c.id <= bindparam("high")
)
_SIGNATURES = (
    select(articles.c.id, articles.c.signature)
    .where(
        articles.c.id > bindparam("after"),
        articles.c.id <= bindparam("top"),
        articles.c.duplicate_of.is_(None),
        articles.c.signature.is_not(None),
    )
    .order_by(articles.c.id)
    .limit(LOAD_BATCH)
)
_WINDOW = (
    select(
        articles.c.id,
        articles.c.story_id,
        articles.c.title,
        articles.c.text,
        articles.c.fetched_at,
    )
    .where(
        articles.c.fetched_at >= bindparam("since"),
        articles.c.id <= bindparam("top"),
        articles.c.duplicate_of.is_(None),
    )
    .order_by(articles.c.fetched_at, articles.c.id)
)
_NEW = select(articles.c.id).where(articles.c.id > bindparam("last")).order_by(articles.c.id)
_NEW_OR_HOLES = (
    select(articles.c.id)
    .where(
        or_(
            articles.c.id > bindparam("last"),
            articles.c.id.in_(bindparam("holes", expanding=True)),
        )
    )
    .order_by(articles.c.id)
)
_ORIGINALS = select(
    articles.c.id,
    articles.c.signature,
    articles.c.story_id,
    articles.c.title,
    articles.c.text,
    articles.c.fetched_at,
).where(articles.c.id.in_(bindparam("ids", expanding=True)), articles.c.duplicate_of.is_(None))


class ArticleIndexes:
    """The near-duplicate index of original articles and the story window of one store."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.clock = clock
        self._near_duplicates: NearDuplicateIndex | None = None
        self._stories: StoryIndex | None = None
        self._last = 0  # every id up to it was seen, but the holes
        self._holes: dict[int, float] = {}  # id -> when a refresh first missed it
        self._told: set[int] = set()  # ids above `_last` this process stored and added
        self.from_elsewhere = 0  # articles another writer stored, found by a refresh

    def __deepcopy__(self, memo: dict[int, object]) -> ArticleIndexes:
        # Scrapy deep-copies a runner's settings into each crawler's: the indexes in
        # `NEWSMON_INDEXES` are to be shared by those crawlers, not loaded once per copy.
        return self

    @property
    def waiting(self) -> list[int]:
        """The ids a refresh skipped (uncommitted then, or rolled back), asked for again."""
        return sorted(self._holes)

    @property
    def near_duplicates(self) -> NearDuplicateIndex:
        """The index of stored originals (loaded on first use)."""
        if self._near_duplicates is None:
            self._load()
        assert self._near_duplicates is not None
        return self._near_duplicates

    @property
    def stories(self) -> StoryIndex:
        """The window of recent originals (loaded on first use)."""
        if self._stories is None:
            self._load()
        assert self._stories is not None
        return self._stories

    def near_duplicate(self, signature: bytes, threshold: float | None = None) -> int | None:
        """The stored original the text signed `signature` nearly copies, or None; with
        `threshold`, only by an estimated Jaccard similarity of at least that (short texts)."""
        self.refresh()
        return self.near_duplicates.find(signature, threshold=threshold)

    def story(
        self,
        terms: frozenset[str],
        title_terms: frozenset[str],
        now: datetime,
        *,
        refresh: bool = True,
    ) -> int | None:
        """The story of the recent article closest to these terms, or None. Without `refresh`
        when the near-duplicate lookup of the same article has just refreshed both indexes."""
        if refresh:
            self.refresh()
        return self.stories.find(terms, title_terms, now)

    def stored(
        self,
        article_id: int,
        *,
        signature: bytes | None,
        title: str | None,
        text: str,
        story_id: int | None,
        fetched_at: datetime | None,
        terms: tuple[frozenset[str], frozenset[str]] | None = None,
        replaced: int | None = None,
        original: bool = True,
    ) -> None:
        """This process committed article `article_id`: an `original` joins both indexes, and
        the original it replaced (published later than it) leaves the near-duplicate index.
        `terms`: its `story_terms`, when the story stage computed them already."""
        if self._near_duplicates is None:  # not loaded yet: the load will read it
            return
        if article_id > self._last:  # so that a refresh does not read it again
            self._told.add(article_id)
        else:
            self._holes.pop(article_id, None)
        if replaced is not None:
            self._near_duplicates.discard(replaced)
        if original:
            from crawler.match.near_duplicates import words

            self._add(
                article_id,
                signature if words(text) else None,
                story_id or article_id,
                title,
                text,
                fetched_at or datetime.now(UTC),
                terms,
            )

    def refresh(self) -> int:
        """Add the originals other writers stored since the last refresh; returns how many."""
        if self._near_duplicates is None:
            self._load()  # reads everything committed so far
            return 0
        with self.engine.connect() as connection:
            if self._holes:
                ids = connection.execute(
                    _NEW_OR_HOLES, {"last": self._last, "holes": list(self._holes)}
                ).scalars()
            else:
                ids = connection.execute(_NEW, {"last": self._last}).scalars()
            returned = list(ids)
            # Those this process stored are indexed already; the others are new to it.
            unknown = [article_id for article_id in returned if article_id not in self._told]
            added = 0
            for start in range(0, len(unknown), LOAD_BATCH):
                rows = connection.execute(
                    _ORIGINALS, {"ids": unknown[start : start + LOAD_BATCH]}
                ).all()
                for row in rows:
                    added += self._add(
                        row.id,
                        row.signature,
                        row.story_id or row.id,
                        row.title,
                        row.text,
                        as_utc(row.fetched_at),
                    )
        present = set(returned) | self._told
        self._note_holes(present, max(present | {self._last}))
        self.from_elsewhere += added
        return added

    def _note_holes(self, present: set[int], top: int) -> None:
        now = self.clock()
        for article_id in present:
            self._holes.pop(article_id, None)
        for article_id in range(max(self._last + 1, top - MAX_HOLES), top):
            if article_id not in present:
                self._holes.setdefault(article_id, now)
        for article_id, since in list(self._holes.items()):
            if now - since > HOLE_WAIT:
                del self._holes[article_id]
        if len(self._holes) > MAX_HOLES:
            for article_id in sorted(self._holes)[: len(self._holes) - MAX_HOLES]:
                del self._holes[article_id]
        self._told = {article_id for article_id in self._told if article_id > top}
        self._last = top

    def _add(
        self,
        article_id: int,
        signature: bytes | None,
        story_id: int,
        title: str | None,
        text: str,
        fetched_at: datetime | None,
        terms: tuple[frozenset[str], frozenset[str]] | None = None,
    ) -> int:
        """Index one original (each once, whichever of the store and a refresh comes first).
        Its story terms are computed here unless given (0.2 ms an article)."""
        assert self._near_duplicates is not None and self._stories is not None
        added = 0
        if signature is not None and article_id not in self._near_duplicates:
            self._near_duplicates.add(article_id, signature)
            added = 1
        since = datetime.now(UTC) - self._stories.window
        if fetched_at is not None and fetched_at >= since and article_id not in self._stories:
            article_terms, title_terms = terms or story_terms(title, text)
            self._stories.add(article_id, story_id, article_terms, title_terms, fetched_at)
            added = 1
        return added

    def _load(self) -> None:
        """Both indexes from the store: the signatures of every original, the originals of the
        story window. The ids missing below the newest (uncommitted yet) become holes, and
        whichever of the load and a refresh reads one first indexes it (`_add`)."""
        from crawler.match.near_duplicates import NearDuplicateIndex

        near_duplicates, stories = NearDuplicateIndex(), StoryIndex()
        since = datetime.now(UTC) - stories.window
        with self.engine.connect() as connection:
            top = connection.execute(_TOP).scalar() or 0
            # Which ids are committed, before reading them: one committed later would be read
            # by the queries below, or not, and must be asked for again either way.
            present = set(
                connection.execute(_PRESENT, {"low": top - MAX_HOLES, "high": top}).scalars()
            )
            after = 0
            while True:
                rows = connection.execute(_SIGNATURES, {"after": after, "top": top}).all()
                if not rows:
                    break
                near_duplicates.extend((row.id, row.signature) for row in rows)
                after = rows[-1].id
            for row in connection.execute(_WINDOW, {"since": since, "top": top}):
                terms, title_terms = story_terms(row.title, row.text)
                stories.add(
                    row.id, row.story_id or row.id, terms, title_terms, as_utc(row.fetched_at)
                )
        self._near_duplicates, self._stories = near_duplicates, stories
        self._last = max(top - MAX_HOLES, 0)
        self._note_holes(present, top)
        logger.info(
            "Indexes of %s: %d originals, %d recent articles",
            self.engine.url.render_as_string(hide_password=True),
            len(near_duplicates),
            len(stories),
        )
