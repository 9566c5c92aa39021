"""How fast `newsmon serve` renders a page of hits over a large store: 100,000 synthetic
articles (70% of them hits) in a SQLite file, the hits page fetched through the app's test
client (routing, queries, export records, template), median of several requests after a
warm-up. The reference is the bare SQL of the same page (count plus 50 rows) in the same run.

Target: under 300 ms per page. Run: `python bench/run.py web_hits`.
"""

from __future__ import annotations

import hashlib
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.storage import median_ms  # noqa: E402
from crawler.review.web import create_app  # noqa: E402
from crawler.store.database import engine_for  # noqa: E402
from crawler.store.schema import article_topics, article_urls, articles  # noqa: E402
from crawler.store.search import PER_PAGE, HitFilter, conditions, hits_query  # noqa: E402

NAME = "web_hits"
TARGET_MS = 300
TOPICS = {"ai-military": ["AI", "military"], "nato": ["NATO"], "export": ["export control*"]}
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
]
QUERIES = {  # page -> what it shows
    "/hits": "hits, newest published (default)",
    "/hits?topic=nato": "one topic",
    "/hits?q=Llama": "search, a word in 1% of articles",
    "/hits?q=satellite+contract": "search, two words in most articles (worst case)",
    "/hits?sort=fetched&page=40": "sorted by fetch date, page 40",
    "/hits?review=unreviewed&language=fr": "unreviewed, one language",
}


def fill(engine, count: int) -> None:
    """Bulk inserts, 5,000 rows a statement: a benchmark need not go through the pipelines."""
    chance = random.Random(100)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    sources = [f"outlet-{n}" for n in range(40)]
    for first in range(0, count, 5000):
        rows, urls, tags = [], [], []
        for n in range(first + 1, min(count, first + 5000) + 1):
            when = start + timedelta(minutes=n * 3)
            text = " ".join(chance.choices(WORDS, k=80)) + (" Llama" if n % 100 == 0 else "")
            url = f"https://news.example.org/{n}"
            rows.append(
                {
                    "id": n,
                    "url": url,
                    "fingerprint": hashlib.sha256(url.encode()).hexdigest(),
                    "source": chance.choice(sources),
                    "title": f"Story {n}: " + text[:60],
                    "published": when - timedelta(hours=chance.random() * 48) if n % 10 else None,
                    "fetched_at": when,
                    "language": chance.choice(("en", "fr", "de")),
                    "text": text,
                    "extractor": "bench",
                }
            )
            urls.append({"url": url, "article_id": n})
            if chance.random() < 0.7:
                topic = chance.choice(list(TOPICS))
                tags.append({"article_id": n, "topic": topic, "terms": TOPICS[topic]})
        with engine.begin() as connection:
            connection.execute(insert(articles), rows)
            connection.execute(insert(article_urls), urls)
            connection.execute(insert(article_topics), tags)


def run(quick: bool = False) -> list[dict[str, object]]:
    count, repeat = (2_000, 3) if quick else (100_000, 9)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = engine_for(f"sqlite:///{tmp}/bench.db")
        started = time.perf_counter()
        fill(engine, count)
        filled = time.perf_counter() - started
        client = create_app(engine).test_client()

        def bare_sql() -> None:  # the default page's own queries, without Python around them
            hits = HitFilter()
            with engine.connect() as connection:
                connection.execute(
                    select(func.count()).select_from(articles).where(*conditions(hits, "sqlite"))
                ).scalar_one()
                connection.execute(hits_query(hits, "sqlite").limit(PER_PAGE)).all()

        reference = median_ms(bare_sql, repeat)
        for path, what in QUERIES.items():

            def fetch(path: str = path) -> None:
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)

            value = median_ms(fetch, repeat)
            row: dict[str, object] = {
                "metric": f"{what} (`{path}`)",
                "value": f"{value:.0f} ms",
                "target": f"< {TARGET_MS} ms",
                "met": value < TARGET_MS,
            }
            if path == "/hits":
                row.update(
                    reference=f"bare SQL {reference:.0f} ms", ratio=f"{value / reference:.1f}x"
                )
            rows.append(row)
        engine.dispose()
    rows.append(
        {
            "metric": "store",
            "value": f"{count:,} articles",
            "note": f"filled in {filled:.0f} s (FTS5 triggers included), median of "
            f"{repeat} requests",
        }
    )
    return rows


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
