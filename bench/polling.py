"""Feed polling at scale: one `newsmon crawl` pass over 1,000 and 10,000 feeds on a local
server (`bench.crawl_fixture.FastSite`, aiohttp). 90% of the feeds answer `304` to the stored
ETag; 10% changed, with 50 entries of which 45 are stored articles and 5 are new (small
synthetic pages, extracted, tagged and stored like any other). The store (SQLite) is filled
beforehand with the sources' validators and the known articles, as a previous pass leaves it.

Measured: wall time of the whole pass (process start to exit), feeds per second, CPU time of
the crawl process per feed, and how that cost grows from 1,000 to 10,000 feeds.
Targets: at least 250 feeds/s for 10,000 feeds; CPU per feed growing linearly (ratio of CPU
per feed at 10,000 and 1,000 within 1.2). Run: `python bench/run.py polling`.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.crawl_fixture import FastSite, crawl, write_config  # noqa: E402
from crawler.store.database import engine_for  # noqa: E402
from crawler.store.schema import article_urls, articles, sources  # noqa: E402
from tests.outlets import rss2  # noqa: E402

NAME = "polling"
TARGET_RATE = 250
ENTRIES, NEW = 50, 5
CHANGED_SHARE = 10  # one feed in 10 changed
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
    "harbour",
    "minister",
    "council",
    "vote",
    "election",
    "market",
    "energy",
    "climate",
    "court",
    "trial",
]


def article_page(number: int, chance: random.Random) -> bytes:
    paragraphs = "".join(
        f"<p>{' '.join(chance.choices(WORDS, k=40))} (story {number}, part {part}).</p>"
        for part in range(4)
    )
    return (
        f"<html><head><title>Story {number}</title></head><body><article>"
        f"<h1>Story {number}</h1>{paragraphs}</article></body></html>"
    ).encode()


def prepare(site: FastSite, database: str, feeds: int) -> list[dict[str, object]]:
    """Serve the feeds and pages; fill the store as a previous pass would have left it."""
    chance = random.Random(feeds)
    engine = engine_for(database)
    source_rows, known_rows, known_urls, config_sources = [], [], [], []
    fetched = datetime.now(UTC) - timedelta(hours=1)
    article_id = 0
    for k in range(feeds):
        name, path = f"feed-{k}", f"/f/{k}.xml"
        changed = k % CHANGED_SHARE == 0
        links = []
        for e in range(ENTRIES):
            if changed and e < NEW:
                url = site.add(f"/a/{k}/{e}", article_page(k * ENTRIES + e, chance))
            else:
                url = site.url(f"/a/{k}/{e}")  # stored already: never requested
                if changed:
                    article_id += 1
                    known_rows.append(
                        {
                            "id": article_id,
                            "url": url,
                            "source": name,
                            "text": f"known {url}",
                            "fingerprint": hashlib.sha256(url.encode()).hexdigest(),
                            "fetched_at": fetched,
                            "extractor": "bench",
                            "story_id": article_id,
                        }
                    )
                    known_urls.append({"url": url, "article_id": article_id})
            links.append((f"Entry {e}", url))
        body = rss2(links) if changed else rss2(links[:1])
        url = site.add(path, body, content_type="application/rss+xml", etag=f'"{k}-v2"')
        source_rows.append(
            {
                "name": name,
                "url": url,
                "consecutive_failures": 0,
                "passes": 1,
                "etag": f'"{k}-v1"' if changed else f'"{k}-v2"',
                "body_hash": "0" * 64,
                "last_status": "ok",
            }
        )
        config_sources.append({"name": name, "url": url})
    with engine.begin() as connection:
        for rows, table in (
            (source_rows, sources),
            (known_rows, articles),
            (known_urls, article_urls),
        ):
            for first in range(0, len(rows), 5000):
                connection.execute(insert(table), rows[first : first + 5000])
    engine.dispose()
    return config_sources


def one_pass(tmp: Path, feeds: int) -> dict[str, float]:
    """One measured pass; `feeds=1` (a single 304) is the fixed cost of a crawl process."""
    site = FastSite()
    try:
        database = f"sqlite:///{tmp}/polling-{feeds}.db"
        config_sources = prepare(site, database, feeds)
        config = write_config(tmp / f"config-{feeds}", database, config_sources)
        result = crawl(config)
        hits, not_modified = site.hits, site.not_modified
    finally:
        site.close()
    stored = re.search(r"Articles: (\d+) new", result.output)
    expected_new = len(range(0, feeds, CHANGED_SHARE)) * NEW
    return {
        "wall": result.wall,
        "cpu": result.cpu,
        "rss": result.peak_rss_mb,
        "requests": hits,
        "not_modified": not_modified,
        "new": int(stored.group(1)) if stored else 0,
        "expected_new": expected_new,
    }


def run(quick: bool = False) -> list[dict[str, object]]:
    sizes = (20, 60) if quick else (1_000, 10_000)
    rows: list[dict[str, object]] = []
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        # The fixed cost of a crawl process (imports, migrations, indexes), apart from feeds;
        # quick mode skips it (a 304-only pass of one feed: only costs time).
        base = {"cpu": 0.0, "wall": 0.0} if quick else one_pass(Path(folder), 1)
        if not quick:
            rows.append(
                {
                    "metric": "fixed cost: pass over 1 feed (304)",
                    "value": f"{base['wall']:.1f} s wall",
                    "note": f"{base['cpu']:.1f} s CPU",
                }
            )
        for feeds in sizes:
            found = results[feeds] = one_pass(Path(folder), feeds)
            rate = feeds / found["wall"]
            last = feeds == sizes[-1]
            rows.append(
                {
                    "metric": f"pass over {feeds:,} feeds (feeds/s)",
                    "value": f"{rate:.0f}",
                    "target": f">= {TARGET_RATE}" if last else "",
                    "met": rate >= TARGET_RATE if last else "",
                    "note": f"{found['wall']:.1f} s wall, {found['requests']:.0f} requests "
                    f"({found['not_modified']:.0f} x 304), {found['new']:.0f} of "
                    f"{found['expected_new']:.0f} new articles stored, "
                    f"peak RSS {found['rss']:.0f} MB",
                }
            )
            rows.append(
                {
                    "metric": f"CPU per feed, {feeds:,} feeds",
                    "value": f"{(found['cpu'] - base['cpu']) / feeds * 1000:.1f} ms",
                    "note": f"{found['cpu']:.1f} s CPU of the crawl process, less the "
                    f"fixed {base['cpu']:.1f} s",
                }
            )
    small, large = ((results[size]["cpu"] - base["cpu"]) / size for size in sizes)
    growth = large / small
    rows.append(
        {
            "metric": f"CPU per feed, {sizes[1]:,} vs {sizes[0]:,} feeds",
            "value": f"{growth:.2f}x",
            "reference": "linear: 1.0x",
            "target": "<= 1.2x (linear)",
            "met": growth <= 1.2,
            "note": "fixed process cost removed"
            if not quick
            else "quick: fixed process cost included",
        }
    )
    return rows


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
