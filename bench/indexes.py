"""What keeping the near-duplicate and story indexes consistent across processes costs
(`crawler.store.indexes`): the refresh that runs before each lookup, against the store's own
transaction for a new article (`pipelines.store.insert_article`), measured in the same run on
SQLite and PostgreSQL.

- Store: one article's transaction, as `StorePipeline` runs it (the reference).
- Refresh, nothing new: the primary-key range query that finds no article from another writer
  (the common case: one per lookup, two lookups per new article).
- Refresh, one new: another writer stored an article since: the ids, then its row, then both
  indexes updated.

Articles: the near-duplicate test's article with a different first line each (distinct
signatures). Times: median per article over the run. Run: `python bench/run.py indexes`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.items import Article  # noqa: E402
from crawler.match.fingerprints import text_keys  # noqa: E402
from crawler.store.database import engine_for  # noqa: E402
from crawler.store.indexes import ArticleIndexes  # noqa: E402
from pipelines.store import insert_article  # noqa: E402
from tests.test_neardup import ARTICLE  # noqa: E402

NAME = "indexes"
PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"


def _article(n: int) -> Article:
    body = f"Report number {n} of the series, filed from desk {n * 7919 % 1000} today.\n\n"
    item = Article(
        source=f"s{n % 40}",
        url=f"https://example.org/{n}",
        title=f"Report {n}",
        text=body + ARTICLE.replace("Tuesday", f"day {n}"),
        fetched_at=datetime.now(UTC),
    )
    item.fingerprint, item.signature = text_keys(item.text)
    return item


def _measure(url: str, count: int) -> dict[str, float]:
    engine = engine_for(url)
    here, elsewhere = ArticleIndexes(engine), ArticleIndexes(engine)
    here.refresh(), elsewhere.refresh()  # both loaded
    items = [_article(n) for n in range(2 * count)]
    store, idle, new = [], [], []
    for n in range(count):
        item = items[2 * n]
        started = time.perf_counter()
        with engine.begin() as connection:
            item.id = insert_article(connection, item, keep_html=False)
        store.append(time.perf_counter() - started)
        here.stored(
            item.id,
            signature=item.signature,
            title=item.title,
            text=item.text,
            story_id=item.story_id,
            fetched_at=item.fetched_at,
        )
        started = time.perf_counter()
        here.refresh()  # its own article: nothing new
        idle.append(time.perf_counter() - started)
        started = time.perf_counter()
        elsewhere.refresh()  # one article another writer stored
        new.append(time.perf_counter() - started)
    assert elsewhere.from_elsewhere == count and here.from_elsewhere == 0
    engine.dispose()
    return {
        "store": statistics.median(store) * 1000,
        "idle": statistics.median(idle) * 1000,
        "new": statistics.median(new) * 1000,
    }


def run(quick: bool = False) -> list[dict[str, object]]:
    count = 50 if quick else 1_000
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        results = {"SQLite": _measure(f"sqlite:///{tmp}/indexes.db", count)}
    schema = f"newsmon_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        results["PostgreSQL"] = _measure(f"{PG_URL}?options=-csearch_path%3D{schema}", count)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    for store, times in results.items():
        for key, what in (("idle", "nothing new"), ("new", "one new article")):
            rows.append(
                {
                    "metric": f"{store}: refresh, {what} (ms)",
                    "value": round(times[key], 3),
                    "reference": round(times["store"], 3),
                    "ratio": round(times[key] / times["store"], 3),
                    "note": f"reference: the store's transaction of one article; {count} articles",
                }
            )
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
