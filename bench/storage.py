"""Storage and review queries on SQLite and PostgreSQL at 10k, 100k (and 1M) synthetic
articles: insert rate, a page of hits, a filtered page of hits, full-text search, and
database size per article.

- Inserts: the store pipeline's own write path (`pipelines.store.insert_article`, one
  transaction per `Article`, as `StorePipeline` does) for the first 2,000 articles; the rest
  in bulk (5,000 rows a statement, `crawler.store.schema` tables, FTS5 triggers or GIN index
  included) to reach the size in minutes. Both rates are reported.
- Hits page: `crawler.store.queries.iter_records(engine, topic, since, newest_first=True,
  limit=50, tagged=True)` (what `newsmon hits` runs).
- Filtered hits page: `crawler.store.search.page_of_hits` (the review app) with topic + date range
  + review state `unreviewed`.
- Search: `crawler.store.search.page_of_hits` with `q=` (FTS5 on SQLite, GIN `tsvector` on
  PostgreSQL), a rare word and two common words.
- Size: the SQLite file (plus WAL) or `pg_database_size`, per article.

Synthetic articles: 120 words of text (real articles have ~650, so sizes per article here are
lower than in production), 40 sources, three languages, fetched over a year, 40% tagged,
5% reviewed. PostgreSQL: a database `newsmon_bench` on 127.0.0.1 (trust auth), created and
dropped by the run; `VACUUM ANALYZE` after loading, as autovacuum would do (one search is
also timed before it: see the row). Query times: median of 7 after a warm-up.
Targets on 1M articles: hits page under 50 ms, search under 100 ms.
Run: `python bench/run.py storage`; with 1M rows as well (about 15 minutes more on a 2-core
machine): `NEWSMON_BENCH_1M=1 python bench/run.py storage`.
"""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import insert

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.items import Article  # noqa: E402
from crawler.store.database import engine_for  # noqa: E402
from crawler.store.queries import iter_records  # noqa: E402
from crawler.store.schema import article_topics, article_urls, articles, reviews  # noqa: E402
from pipelines.store import insert_article  # noqa: E402

try:  # the review app's queries (another part of the code base, newer than this benchmark)
    from crawler.store.search import HitFilter, page_of_hits
except ImportError:  # pragma: no cover - reported in the rows
    HitFilter = page_of_hits = None

NAME = "storage"
PG_SERVER = "host=127.0.0.1 user=root dbname=test"
PG_DATABASE = "newsmon_bench"
PIPELINE_INSERTS = 2_000
BATCH = 5_000
TARGET_HITS_MS, TARGET_SEARCH_MS = 50, 100
START = datetime(2026, 1, 1, tzinfo=UTC)
TOPICS = {
    "ai-military": ["AI", "military"],
    "nato": ["NATO"],
    "export": ["export control*"],
    "cyber": ["cyber*"],
}
WORDS = [
    "defence",
    "ministry",
    "procurement",
    "drone",
    "satellite",
    "model",
    "contract",
    "budget",
    "army",
    "navy",
    "intelligence",
    "analysts",
    "officials",
    "report",
    "policy",
    "system",
    "data",
    "security",
    "forces",
    "minister",
    "council",
    "election",
    "market",
    "energy",
    "climate",
    "court",
    "trial",
    "harbour",
    "summit",
    "treaty",
    "sanctions",
    "missile",
    "radar",
    "cyber",
    "software",
    "chips",
    "export",
    "industry",
    "startup",
    "research",
    "university",
    "laboratory",
    "agency",
]
RARE = "Llama"  # in 1 article out of 1,000
SPACING = 31  # seconds between two articles: 1M articles in a year


def synthetic(n: int, chance: random.Random) -> dict[str, object]:
    """Article number n (from 1): its row, minus the id."""
    fetched = START + timedelta(seconds=n * SPACING)
    text = " ".join(chance.choices(WORDS, k=120)) + (f" {RARE}" if n % 1000 == 0 else "")
    url = f"https://news{n % 40}.example.org/{n}"
    return {
        "url": url,
        "fingerprint": hashlib.sha256(url.encode()).hexdigest(),
        "source": f"outlet-{n % 40}",
        "title": f"Story {n}: " + text[:60],
        "published": fetched - timedelta(hours=chance.random() * 48) if n % 10 else None,
        "fetched_at": fetched,
        "language": ("en", "fr", "de")[n % 3],
        "text": text,
        "extractor": "bench",
        "story_id": n,
    }


def tags_of(n: int) -> dict[str, list[str]]:
    if n % 5 >= 2:  # 40% tagged
        return {}
    topic = list(TOPICS)[n % len(TOPICS)]
    return {topic: TOPICS[topic]}


def fill(engine, first: int, last: int) -> float:
    """Bulk insert of articles first..last; returns seconds."""
    chance = random.Random(first)
    started = time.perf_counter()
    for start in range(first, last + 1, BATCH):
        rows, urls, tags, decisions = [], [], [], []
        for n in range(start, min(last, start + BATCH - 1) + 1):
            row = synthetic(n, chance)
            rows.append({"id": n, **row})
            urls.append({"url": row["url"], "article_id": n})
            tags.extend(
                {"article_id": n, "topic": t, "terms": terms} for t, terms in tags_of(n).items()
            )
            if n % 20 == 0:
                decisions.append(
                    {
                        "article_id": n,
                        "reviewed_at": row["fetched_at"],
                        "verdict": ("relevant", "irrelevant")[n % 40 == 0],
                        "starred": n % 60 == 0,
                    }
                )
        with engine.begin() as connection:
            connection.execute(insert(articles), rows)
            connection.execute(insert(article_urls), urls)
            if tags:
                connection.execute(insert(article_topics), tags)
            if decisions:
                connection.execute(insert(reviews), decisions)
    return time.perf_counter() - started


def pipeline_inserts(engine, count: int) -> float:
    """Articles 1..count through the store's write path, one transaction each; seconds."""
    chance = random.Random(0)
    items = []
    for n in range(1, count + 1):
        row = synthetic(n, chance)
        items.append(
            Article(
                source=row["source"],
                url=row["url"],
                fetched_at=row["fetched_at"],
                title=row["title"],
                published=row["published"],
                language=row["language"],
                text=row["text"],
                extractor="bench",
                fingerprint=row["fingerprint"],
                matches=tags_of(n),
            )
        )
    started = time.perf_counter()
    for item in items:
        with engine.begin() as connection:
            insert_article(connection, item, keep_html=False)
    return time.perf_counter() - started


def median_ms(action, repeat: int = 7) -> float:
    started = time.perf_counter()
    action()  # warm-up: caches, prepared statements
    if time.perf_counter() - started > 2:  # a pathological plan: do not spend minutes on it
        repeat = 1
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def queries(engine, count: int) -> dict[str, float]:
    """Milliseconds of each review query on a store of `count` articles."""
    span = timedelta(seconds=count * SPACING)
    since = START + span * 0.9  # `newsmon hits --since`: the newest tenth
    found: dict[str, float] = {}

    def hits() -> None:
        records = list(
            iter_records(engine, "ai-military", since, newest_first=True, limit=50, tagged=True)
        )
        assert records, "no hits"

    found["hits"] = median_ms(hits)
    if page_of_hits is not None:
        window = HitFilter(
            topic="ai-military",
            since=(START + span * 0.3).date(),
            until=(START + span * 0.6).date(),
            review="unreviewed",
            sort="fetched",
        )
        found["filtered"] = median_ms(lambda: page_of_hits(engine, window))
        found["search rare"] = median_ms(lambda: page_of_hits(engine, HitFilter(q=RARE)))
        found["search common"] = median_ms(
            lambda: page_of_hits(engine, HitFilter(q="satellite contract"))
        )
    return found


def pg_database(action: str) -> None:
    with psycopg.connect(PG_SERVER, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
        if action == "create":
            connection.execute(f"CREATE DATABASE {PG_DATABASE}")


def size_bytes(engine, path: Path | None) -> int:
    if path is not None:
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()


def point(series: str, size: int, ms: float) -> dict[str, object]:
    """The fields that put a row on the growth plot (bench/plot.py)."""
    return {"series": series, "size": size, "per": "stored articles", "ms": round(ms, 2)}


def measure(backend: str, sizes: list[int], tmp: Path) -> list[dict[str, object]]:
    if backend == "sqlite":
        path: Path | None = tmp / "storage.db"
        url = f"sqlite:///{path}"
    else:
        path = None
        pg_database("create")
        url = f"postgresql+psycopg://root@127.0.0.1/{PG_DATABASE}"
    rows: list[dict[str, object]] = []
    try:
        engine = engine_for(url)
        inserted = min(PIPELINE_INSERTS, sizes[0])
        seconds = pipeline_inserts(engine, inserted)
        rows.append(
            {
                "metric": f"{backend}: insert through `insert_article`",
                "value": f"{inserted / seconds:,.0f} articles/s",
                "note": f"{inserted:,} articles, one transaction each",
            }
        )
        stored = inserted
        for size in sizes:
            bulk = fill(engine, stored + 1, size)
            if size > stored:
                rows.append(
                    {
                        "metric": f"{backend}: bulk insert to {size:,}",
                        "value": f"{(size - stored) / bulk:,.0f} articles/s",
                        "note": f"{size - stored:,} rows in {bulk:.0f} s, {BATCH:,} a statement",
                    }
                )
            stored = size
            if backend == "postgresql":
                if size == sizes[0]:
                    # Right after inserts, GIN's pending list is not merged and the planner
                    # prefers a sequential scan computing to_tsvector on every row: once.
                    with engine.begin() as connection:
                        connection.exec_driver_sql("ANALYZE")
                    started = time.perf_counter()
                    page_of_hits(engine, HitFilter(q=RARE))
                    rows.append(
                        {
                            "metric": f"{backend} {size:,}: search before VACUUM, "
                            f"a rare word `{RARE}`",
                            "value": f"{(time.perf_counter() - started) * 1000:.0f} ms",
                            "note": "ANALYZE only: GIN pending list unmerged, seq scan; one call",
                        }
                    )
                # What autovacuum does after a bulk load: merge GIN's pending list, statistics.
                with engine.connect() as connection:
                    connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                        "VACUUM ANALYZE"
                    )
            found = queries(engine, size)
            final = size >= 1_000_000
            rows.append(
                {
                    "metric": f"{backend} {size:,}: hits page (`iter_records`)",
                    "value": f"{found['hits']:.1f} ms",
                    **point(f"{backend}: hits page", size, found["hits"]),
                    "target": f"< {TARGET_HITS_MS} ms at 1M" if final else "",
                    "met": found["hits"] < TARGET_HITS_MS if final else "",
                }
            )
            if "filtered" in found:
                rows.append(
                    {
                        "metric": f"{backend} {size:,}: filtered hits page "
                        "(topic + dates + unreviewed, `page_of_hits`)",
                        "value": f"{found['filtered']:.1f} ms",
                        **point(f"{backend}: filtered hits page", size, found["filtered"]),
                        "target": f"< {TARGET_HITS_MS} ms at 1M" if final else "",
                        "met": found["filtered"] < TARGET_HITS_MS if final else "",
                    }
                )
                for kind, what in (
                    ("rare", f"a rare word `{RARE}`"),
                    ("common", "two common words `satellite contract`"),
                ):
                    value = found[f"search {kind}"]
                    rows.append(
                        {
                            "metric": f"{backend} {size:,}: search, {what}",
                            "value": f"{value:.1f} ms",
                            **point(f"{backend}: search, {kind} words", size, value),
                            "target": f"< {TARGET_SEARCH_MS} ms at 1M" if final else "",
                            "met": value < TARGET_SEARCH_MS if final else "",
                        }
                    )
            else:
                rows.append(
                    {
                        "metric": f"{backend} {size:,}: search",
                        "value": "not run",
                        "note": "crawler.store.search not importable",
                    }
                )
            total = size_bytes(engine, path)
            rows.append(
                {
                    "metric": f"{backend} {size:,}: size per article",
                    "value": f"{total / size / 1024:.2f} KB",
                    "note": f"{total / 2**20:,.0f} MB in all; 120-word texts",
                }
            )
        engine.dispose()
    finally:
        if backend == "postgresql":
            pg_database("drop")
    return rows


def run(quick: bool = False) -> list[dict[str, object]]:
    if quick:
        plans = {"sqlite": [300], "postgresql": [300]}
    else:
        big = os.environ.get("NEWSMON_BENCH_1M") == "1"
        sizes = [10_000, 100_000, *([1_000_000] if big else [])]
        plans = {"sqlite": sizes, "postgresql": sizes}
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as folder:
        for backend, sizes in plans.items():
            rows += measure(backend, sizes, Path(folder))
    if not quick and not big:
        rows.append(
            {
                "metric": "1M articles",
                "value": "not run",
                "note": "about 15 min more here: NEWSMON_BENCH_1M=1",
            }
        )
    return rows


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
