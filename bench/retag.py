"""Re-tagging speed: `crawler.store.retag.retag` over 100,000 stored articles (SQLite) with a
500-term topic set, against the matcher alone over the same texts in memory (the reference:
what re-tagging costs without reading and writing the store).

Target: at least 2,000 articles per second. Run: `python bench/run.py retag`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import insert  # noqa: E402

from bench.tagging import benchmark_rules, rule_terms, texts  # noqa: E402
from crawler.match.terms import Matcher  # noqa: E402
from crawler.store.database import engine_for  # noqa: E402
from crawler.store.retag import retag  # noqa: E402
from crawler.store.schema import articles  # noqa: E402

NAME = "retag"
TARGET = 2000.0


def run(quick: bool = False) -> list[dict[str, object]]:
    size = 3_000 if quick else 100_000
    corpus = texts()
    rules = benchmark_rules(corpus)
    terms = len({t for rule in rules for t in rule_terms(rule)})
    with tempfile.TemporaryDirectory() as tmp:
        engine = engine_for(f"sqlite:///{tmp}/retag.db")
        now = datetime.now(UTC)
        rows = [
            {
                "url": f"https://example.org/{n}",
                "fingerprint": f"{n:064x}",
                "source": "bench",
                "title": corpus[n % len(corpus)][0],
                "text": corpus[n % len(corpus)][1],
                "fetched_at": now,
            }
            for n in range(size)
        ]
        with engine.begin() as connection:  # bulk insert: this measures re-tagging, not storing
            for start in range(0, size, 10_000):
                connection.execute(insert(articles), rows[start : start + 10_000])
        matcher = Matcher(rules)
        sample = [(row["title"], row["text"]) for row in rows[: min(size, 5_000)]]
        started = time.perf_counter()
        for title, text in sample:
            matcher.match(title, text)
        reference = len(sample) / (time.perf_counter() - started)
        started = time.perf_counter()
        report = retag(engine, rules)
        first = size / (time.perf_counter() - started)
        started = time.perf_counter()
        retag(engine, rules)  # nothing changes: reading and matching only
        again = size / (time.perf_counter() - started)
        engine.dispose()
    tagged = sum(change.gained for change in report.topics.values())
    return [
        {
            "metric": f"retag of {size:,} articles ({terms} terms, {len(rules)} topics)",
            "value": f"{first:,.0f} articles/s",
            "reference": f"matcher alone {reference:,.0f}/s",
            "ratio": f"{first / reference:.2f}",
            "target": f">= {TARGET:,.0f}/s",
            "met": first >= TARGET,
            "note": f"{tagged:,} tags written",
        },
        {
            "metric": "retag again (no change)",
            "value": f"{again:,.0f} articles/s",
            "reference": f"matcher alone {reference:,.0f}/s",
            "ratio": f"{again / reference:.2f}",
            "target": f">= {TARGET:,.0f}/s",
            "met": again >= TARGET,
        },
    ]
