"""Re-tagging the archive: apply the current topics.yaml to every stored article.

Review stage of the flow, writing only `article_topics` (never articles, never review
decisions). Articles are read and written in batches, one transaction per batch, so a
re-tag of a large archive is interruptible and never leaves an article half-tagged. With
`dry_run`, nothing is written and the report says what would change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, insert, select, update

from crawler.schema import article_topics, articles
from crawler.terms import Matcher, TopicRule

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


def retag(engine: Engine, rules: Iterable[TopicRule], only: str | None = None,
          dry_run: bool = False,
          progress: Callable[[int], None] | None = None) -> RetagReport:  # fmt: skip
    """Re-tag every article; with `only`, just that topic (others are left as they are)."""
    rules = [rule for rule in rules if only is None or rule.name == only]
    matcher = Matcher(rules)
    names = {rule.name for rule in rules}
    report = RetagReport()
    for name in sorted(names):
        report.change(name)
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
                break
            ids = [row.id for row in rows]
            old: dict[int, dict[str, list[str]]] = {}
            query = select(article_topics).where(article_topics.c.article_id.in_(ids))
            if only is not None:
                query = query.where(article_topics.c.topic == only)
            for row in connection.execute(query):
                old.setdefault(row.article_id, {})[row.topic] = list(row.terms)
        writes = _compare(rows, old, matcher, names, report, full=only is None)
        if writes and not dry_run:
            _write(engine, writes)
        report.articles += len(rows)
        last_id = rows[-1].id
        if progress:
            progress(report.articles)
    return report


def _compare(rows, old, matcher, names, report, full):  # type: ignore[no-untyped-def]
    """The (article id, topic, terms or None to remove, existed) writes for one batch. A full
    re-tag also removes topics that topics.yaml no longer defines."""
    writes = []
    for row in rows:
        new = matcher.match(row.title, row.text)
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


def _write(engine: Engine, writes) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as connection:
        for article_id, topic, terms, existed in writes:
            where = (article_topics.c.article_id == article_id) & (article_topics.c.topic == topic)
            if terms is None:
                connection.execute(delete(article_topics).where(where))
            elif existed:
                connection.execute(update(article_topics).where(where).values(terms=terms))
            else:
                connection.execute(
                    insert(article_topics).values(article_id=article_id, topic=topic, terms=terms)
                )
