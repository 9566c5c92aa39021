"""Two per-page costs behind settings of the crawl, on the 505 corpus pages: how an extraction
worker's malloc serves a page's large blocks (`crawler.heap`: the mmap threshold at 128 KiB
against the workers' 4 MiB), and how the kept page is gzipped (`pipelines.store.compressed`:
zlib's levels 1, 3 and 6 against ISA-L's level 1, which it uses).

The threshold is measured in a fresh process each (it is set once, before the first page):
`crawler.extract.pool.extract` over every page, as a worker runs it, with the process's user
and system time and minor page faults from `getrusage`. Not a benchmark of `bench/run.py`
(it compares settings, not newsmon against a reference): `python bench/page_costs.py`
prints its rows.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.throughput import corpus  # noqa: E402
from pipelines.store import compressed  # noqa: E402

THRESHOLDS = {"128 KiB (the crawl process's)": 128 * 1024, "4 MiB (the workers')": 4 << 20}
LEVELS = (1, 3, 6)

_EXTRACT = """
import json, resource, sys
sys.path.insert(0, {repo!r})
from bench.throughput import corpus
from crawler.extract.pool import extract
from crawler.heap import Trimmer, keep_large_blocks_off_heap
keep_large_blocks_off_heap({threshold})
pages = [(url, html.decode("utf-8", "replace")) for url, _, html in corpus()]
extract(pages[0][1], pages[0][0], None)  # imports, language data
heap, before = Trimmer(), resource.getrusage(resource.RUSAGE_SELF)
for url, html in pages:
    heap.page_done()
    extract(html, url, None)
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps([len(pages), after.ru_utime - before.ru_utime,
                  after.ru_stime - before.ru_stime, after.ru_minflt - before.ru_minflt]))
"""


def threshold_row(label: str, threshold: int) -> str:
    script = _EXTRACT.format(repo=str(REPO), threshold=threshold)
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    pages, user, system, faults = json.loads(output.splitlines()[-1])
    return (
        f"mmap threshold {label}: {pages} pages extracted, user {user:.2f} s, "
        f"system {system:.2f} s, {faults:,} minor page faults ({faults / pages:,.0f} a page)"
    )


def gzip_rows() -> list[str]:
    pages = [html for _, _, html in corpus()]
    raw = sum(map(len, pages))
    rows = []
    for level in LEVELS:
        started = time.process_time()
        size = sum(len(gzip.compress(page, compresslevel=level)) for page in pages)
        spent = time.process_time() - started
        rows.append(
            f"gzip level {level}: {spent / len(pages) * 1000:.2f} ms CPU a page, "
            f"{size / raw:.1%} of the size ({raw / len(pages) / 1024:.0f} KB a page on average)"
        )
    started = time.process_time()
    size = sum(len(compressed(page)) for page in pages)
    spent = time.process_time() - started
    rows.append(
        f"kept pages (ISA-L's gzip, level 1): {spent / len(pages) * 1000:.2f} ms CPU a page, "
        f"{size / raw:.1%} of the size"
    )
    return rows


if __name__ == "__main__":
    for label, threshold in THRESHOLDS.items():
        print(threshold_row(label, threshold), flush=True)
    for row in gzip_rows():
        print(row)
