"""Re-tagging the archive: apply the current topics.yaml to every stored article.

Review stage of the flow, writing only `article_topics` (never articles, never review
decisions). Articles are read and written in batches, one transaction per batch, so a
re-tag of a large archive is interruptible and never leaves an article half-tagged. With
`dry_run`, nothing is written and the report says what would change.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from crawler.match.terms import Matcher, TopicRule
from crawler.store.schema import article_topics, articles

__all__ = ["BATCH", "retag"]

BATCH = 1000
EXAMPLES = 5


@dataclass
class TopicChange:
    gained: int = 0
    lost: int = 0
    changed_terms: int = 0  # still tagged, with other terms
    gained_examples: list[tuple[int, str]] = field(default_factory=list)  # (id, title)
    lost_examples: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class RetagReport:
    articles: int = 0
    topics: dict[str, TopicChange] = field(default_factory=dict)

    def change(self, topic: str) -> TopicChange:
        return self.topics.setdefault(topic, TopicChange())


def retag(
    engine: Engine,
    rules: Iterable[TopicRule],
    only: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> RetagReport:
    """Re-tag every article; with `only`, just that topic (others are left as they are).

    Matching runs in `workers` processes (default: one per core) while this process reads
    and writes the store, batch by batch and in order; a small archive is matched in place.
    """
    rules = [rule for rule in rules if only is None or rule.name == only]
    names = {rule.name for rule in rules}
    report = RetagReport()
    for name in sorted(names):
        report.change(name)
    workers = workers or os.cpu_count() or 1
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(articles)).scalar() or 0
    if workers < 2 or total < 2 * BATCH:
        matcher = Matcher(rules)
        for rows, old in _batches(engine, only):
            matches = [dict(matcher.match(row.title, row.text)) for row in rows]
            _apply(engine, rows, old, matches, names, report, only, dry_run, progress)
        return report
    # Spawned, not forked: `newsmon run` calls this from a thread beside its reactor.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(rules,)
    ) as pool:
        pending: deque[tuple[Any, Any, Future[list[dict[str, list[str]]]]]] = deque()
        for rows, old in _batches(engine, only):
            texts = [(row.title, row.text) for row in rows]
            pending.append((rows, old, pool.submit(_match_batch, texts)))
            if len(pending) > workers:  # read ahead, but not the whole archive
                rows, old, done = pending.popleft()
                _apply(engine, rows, old, done.result(), names, report, only, dry_run, progress)
        while pending:
            rows, old, done = pending.popleft()
            _apply(engine, rows, old, done.result(), names, report, only, dry_run, progress)
    return report


_WORKER_MATCHER: Matcher | None = None


def _start_worker(rules: list[TopicRule]) -> None:
    global _WORKER_MATCHER
    _WORKER_MATCHER = Matcher(rules)


def _match_batch(texts: list[tuple[str | None, str]]) -> list[dict[str, list[str]]]:
    assert _WORKER_MATCHER is not None
    return [dict(_WORKER_MATCHER.match(title, text)) for title, text in texts]


def _batches(engine: Engine, only: str | None) -> Iterator[tuple[Any, dict[int, dict]]]:
    """(articles, their stored topics) in batches of BATCH, by id."""
    last_id = 0
    while True:
        with engine.connect() as connection:
            rows = connection.execute(
                select(articles.c.id, articles.c.title, articles.c.text)
                .where(articles.c.id > last_id)
                .order_by(articles.c.id)
                .limit(BATCH)
            ).all()
            if not rows:
                return
            old: dict[int, dict[str, list[str]]] = {}
            query = select(article_topics).where(
                article_topics.c.article_id.in_([row.id for row in rows])
            )
            if only is not None:
                query = query.where(article_topics.c.topic == only)
            for row in connection.execute(query):
                old.setdefault(row.article_id, {})[row.topic] = list(row.terms)
        yield rows, old
        last_id = rows[-1].id


def _apply(engine, rows, old, matches, names, report, only, dry_run, progress) -> None:
    writes = _compare(rows, old, matches, names, report, full=only is None)
    if writes and not dry_run:
        _write(engine, writes)
    report.articles += len(rows)
    if progress:
        progress(report.articles)


def _compare(rows, old, matches, names, report, full):
    """The (article id, topic, terms or None to remove, existed) writes for one batch. A full
    re-tag also removes topics that topics.yaml no longer defines."""
    writes = []
    for row, new in zip(rows, matches, strict=True):
        before = old.get(row.id, {})
        for topic in (names | before.keys()) if full else names:
            was, now = before.get(topic), new.get(topic)
            if was == now:
                continue
            change = report.change(topic)
            if was is None:
                change.gained += 1
                if len(change.gained_examples) < EXAMPLES:
                    change.gained_examples.append((row.id, row.title or ""))
            elif now is None:
                change.lost += 1
                if len(change.lost_examples) < EXAMPLES:
                    change.lost_examples.append((row.id, row.title or ""))
            else:
                change.changed_terms += 1
            writes.append((row.id, topic, now, was is not None))
    return writes


def _write(engine: Engine, writes) -> None:
    """One transaction per batch; new tags in one statement, the rarer removals and term
    changes one by one."""
    new = [
        {"article_id": article_id, "topic": topic, "terms": terms}
        for article_id, topic, terms, existed in writes
        if terms is not None and not existed
    ]
    with engine.begin() as connection:
        if new:
            connection.execute(insert(article_topics), new)
        for article_id, topic, terms, existed in writes:
            if not existed:
                continue
            where = (article_topics.c.article_id == article_id) & (article_topics.c.topic == topic)
            if terms is None:
                connection.execute(delete(article_topics).where(where))
            else:
                connection.execute(update(article_topics).where(where).values(terms=terms))
