"""Extraction in worker processes (`crawler.extract.pool`): the same results and logs as
in the crawl's own process, workers shut down with the crawl, and a dead worker costs only
the pages it held.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from crawler.extract import pool as extraction_pool
from crawler.extract.page import MAX_ELEMENTS, extract_article
from crawler.extract.pool import ExtractionPool, WorkerLost
from crawler.match.fingerprints import fingerprint
from crawler.match.near_duplicates import signature
from crawler.store.schema import article_urls, articles
from tests.conftest import CORPUS, REPO, run_cli
from tests.outlets import rss2
from tests.processes import children, reap, wait_for

PAGES = 12  # corpus pages per crawl: languages declared and not, one without article text
COPIES = 16  # near copies: enough to extract some at the same time


def corpus_pages(count: int) -> list[tuple[str, bytes]]:
    """(original URL, raw HTML) of the first `count` corpus pages."""
    folder = CORPUS / "articles"
    lines = (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()[:count]
    records = [json.loads(line) for line in lines]
    return [(r["url"], gzip.decompress((folder / r["file"]).read_bytes())) for r in records]


def alive(pid: int) -> bool:
    """Running or sleeping; a zombie has exited."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def scrapy_crawl(config: Path, *settings: str) -> subprocess.CompletedProcess[str]:
    """`scrapy crawl feeds` from the repository root, as `newsmon crawl` would run it, with
    Scrapy `settings` ("NAME=VALUE") given on the command line."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    environment.update({"PYTHONPATH": str(REPO), "NEWSMON_CONFIG": str(config)})
    options = [option for setting in settings for option in ("-s", setting)]
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "feeds", *options, "-s", "LOG_LEVEL=INFO"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def stored(database: Path) -> tuple[list[tuple], list[tuple]]:
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                articles.c.url,
                articles.c.title,
                articles.c.author,
                articles.c.published,
                articles.c.language,
                articles.c.text,
                articles.c.extractor,
                articles.c.fingerprint,
            ).order_by(articles.c.url)
        ).all()
        urls = connection.execute(
            select(article_urls.c.url, articles.c.url)
            .join(articles, articles.c.id == article_urls.c.article_id)
            .order_by(article_urls.c.url)
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows], [tuple(row) for row in urls]


def copies_of(database: Path, site) -> list[tuple[str, int | None]]:
    """(URL, duplicate_of) of the first corpus page and its near copies."""
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        rows = connection.execute(
            select(articles.c.url, articles.c.duplicate_of).where(
                articles.c.url.like(site.url("/copy/%")) | (articles.c.url == site.url("/a/0"))
            )
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_crawl_with_workers_stores_what_in_process_extraction_stores(
    site_factory, make_config, tmp_path: Path
) -> None:
    site = site_factory()
    pages = corpus_pages(PAGES)
    links = [
        (f"Article {n}", site.add(f"/a/{n}", html, content_type="text/html"))
        for n, (_, html) in enumerate(pages)
    ]
    links.append(("Not an article", site.add("/empty", "<html><body><p>Hi.</p></body></html>")))
    # Near copies (a word added to the body) extracted at the same time: each must be found
    # a copy of the first one stored.
    url, html = pages[0]
    text = extract_article(html.decode("utf-8", "replace"), url).text
    anchor = text.splitlines()[len(text.splitlines()) // 2][:40].encode()
    assert html.count(anchor) == 1
    copies = [
        site.add(
            f"/copy/{n}",
            html.replace(anchor, anchor + f" copy{n}".encode()),
            content_type="text/html",
        )
        for n in range(COPIES)
    ]
    links += [(f"Copy {n}", url) for n, url in enumerate(copies)]
    feed = site.add("/feed.xml", rss2(links), content_type="application/rss+xml")
    sources = [{"name": "corpus", "url": feed}]
    results = {}
    for workers in (0, 2):
        database = tmp_path / f"workers-{workers}.db"
        # `extract_workers` in settings.yaml, or the Scrapy setting it becomes.
        config = make_config(
            sources,
            name=f"config-{workers}",
            database=f"sqlite:///{database}",
            extract_workers=workers if workers else None,
        )
        crawl = scrapy_crawl(config, *([] if workers else ["NEWSMON_EXTRACT_WORKERS=0"]))
        assert crawl.returncode == 0, crawl.stderr[-3000:]
        results[workers] = stored(database), crawl.stderr
        originals = [url for url, duplicate_of in copies_of(database, site) if duplicate_of is None]
        assert len(originals) == 1, (workers, originals)

    (in_process, in_process_urls), in_process_log = results[0]
    (pooled, pooled_urls), pooled_log = results[2]
    assert len(in_process) == PAGES + COPIES  # every corpus page is an article; /empty is not
    assert pooled == in_process
    assert pooled_urls == in_process_urls
    assert "Extraction in" not in in_process_log
    for log in (in_process_log, pooled_log):
        assert f"No article text in {site.url('/empty')}" in log, log[-3000:]
    # The workers were stopped by the crawl, not left behind when it exited.
    found = re.search(r"Extraction workers stopped \(pids ([\d, ]+)\)", pooled_log)
    assert found, pooled_log[-3000:]
    pids = [int(pid) for pid in found.group(1).split(", ")]
    assert len(pids) == 2
    assert not any(alive(pid) for pid in pids)


def test_pool_results_and_logs_are_those_of_in_process_extraction(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pages = corpus_pages(4)
    huge = "<html><body>" + "<p>x</p>" * (MAX_ELEMENTS + 1) + "</body></html>"

    async def run() -> tuple[list, list[int]]:
        pool = ExtractionPool(2, logging.INFO)
        assert pool.pids() == [] and not pool.started  # nothing forked before the first page
        extracted = await asyncio.gather(
            *(pool.extract(html.decode("utf-8", "replace"), url, None) for url, html in pages),
            pool.extract(huge, "http://example.org/huge", None),
        )
        pids = pool.pids()
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        pool.close()
        return extracted, pids

    with caplog.at_level(logging.INFO):
        extracted, pids = asyncio.run(run())
    expected = [
        extraction_pool.extract(html.decode("utf-8", "replace"), url, None) for url, html in pages
    ]
    assert extracted[:-1] == expected
    assert all(result is not None for result in expected)
    for (article, keys), (url, html) in zip(expected, pages, strict=True):
        assert article == extract_article(html.decode("utf-8", "replace"), url)
        assert keys == (fingerprint(article.text), signature(article.text))
    assert extracted[-1] is None
    # The worker's log record reached this process's logging, with its level and logger.
    (record,) = [r for r in caplog.records if "HTML elements" in r.getMessage()]
    assert record.name == "crawler.extract.page" and record.levelno == logging.INFO
    assert record.getMessage().startswith("not extracting http://example.org/huge: ")
    assert record.process in pids
    assert not any(alive(pid) for pid in pids)


def test_a_dead_worker_loses_its_page_and_the_pool_goes_on() -> None:
    url, html = corpus_pages(1)[0]
    text = html.decode("utf-8", "replace")

    async def run() -> None:
        pool = ExtractionPool(1, logging.WARNING)
        try:
            assert await pool.extract(text, url, None) is not None
            (pid,) = pool.pids()
            os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer would
            with pytest.raises(WorkerLost, match=re.escape(url)):
                await pool.extract(text, url, None)
            assert not alive(pid)
            assert await pool.extract(text, url, None) is not None  # new workers
            assert pool.pids() != [pid]
        finally:
            pool.close()

    asyncio.run(run())


def test_the_crawl_process_leaves_extraction_and_signing_to_the_workers() -> None:
    # trafilatura and datasketch (with scipy) are 100 MB and a second of start-up that only
    # the workers need; the workers keep what they inherited out of the collector's reach.
    code = """
import asyncio, gc, json, logging, sys
from crawler.extract.pool import ExtractionPool
url, html = json.load(sys.stdin)
async def run():
    pool = ExtractionPool(1, logging.WARNING)
    try:
        result = await pool.extract(html, url, None)
        frozen = pool._executor.submit(gc.get_freeze_count).result()
    finally:
        pool.close()
    return result, frozen
(article, keys), frozen = asyncio.run(run())
print(json.dumps([len(article.text), len(keys.signature), frozen,
                  sorted(m for m in ("trafilatura", "datasketch", "scipy") if m in sys.modules)]))
"""
    url, html = corpus_pages(1)[0]
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps([url, html.decode()]),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text_length, signature_length, frozen, imported = json.loads(result.stdout)
    assert text_length > 300 and signature_length > 500
    assert frozen > 10_000  # the inherited objects (modules, language data) are frozen
    assert imported == []


def test_a_crawl_that_extracts_nothing_starts_no_worker(site, make_config) -> None:
    (url, html), *_ = corpus_pages(1)
    site.add("/a/0", html, content_type="text/html")
    feed = rss2([("Article", site.url("/a/0"))])
    site.add("/feed.xml", feed, content_type="application/rss+xml", etag='"v1"')
    config = make_config([{"name": "wire", "url": site.url("/feed.xml")}], extract_workers=2)
    first = run_cli("crawl", "--config", str(config), "--log-level", "INFO")
    assert "wire: ok, 1 entries, 1 new" in first.stdout, first.stdout + first.stderr[-3000:]
    assert "Extraction in 2 worker processes" in first.stderr
    assert "Extraction workers stopped" in first.stderr
    again = run_cli("crawl", "--config", str(config), "--log-level", "INFO")
    assert "wire: ok, not modified (304)" in again.stdout, again.stdout + again.stderr[-3000:]
    assert "Extraction" not in again.stderr  # neither started nor stopped


def test_run_keeps_its_workers_across_passes(site, make_config, tmp_path: Path) -> None:
    """`newsmon run` starts its workers for the first page to extract and keeps them for the
    passes after it, until it exits."""
    pages = corpus_pages(3)
    links = [
        (f"Article {n}", site.add(f"/a/{n}", html, content_type="text/html"))
        for n, (_, html) in enumerate(pages)
    ]
    site.add("/feed.xml", rss2(links[:2]), content_type="application/rss+xml", etag='"v1"')
    config = make_config(
        [{"name": "wire", "url": site.url("/feed.xml"), "every": "1s", "adaptive": False}],
        jitter=0,
        extract_workers=2,
    )
    log = tmp_path / "run.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    environment["PYTHONPATH"] = str(REPO)
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "run", "--config", str(config), "--log-file", str(log)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: site.hits.get("/feed.xml", 0) >= 3)  # one pass with pages, two 304s
        workers = sorted(pid for child in children(process.pid) for pid in children(child))
        assert len(workers) == 2, workers
        # A new article in the feed: extracted by the same workers.
        site.add("/feed.xml", rss2(links), content_type="application/rss+xml", etag='"v2"')
        wait_for(lambda: site.hits.get("/a/2", 0) >= 1)
        wait_for(lambda: site.hits.get("/feed.xml", 0) >= 6)
        assert sorted(pid for c in children(process.pid) for pid in children(c)) == workers
        text = log.read_text(encoding="utf-8")
        assert text.count("Extraction in 2 worker processes") == 1, text[-3000:]
        assert "Extraction workers stopped" not in text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        reap(process)
    text = log.read_text(encoding="utf-8")
    assert text.count("Source wire: 2 entries, 2 new; 2 stored") == 1, text[-3000:]
    assert "Source wire: 3 entries, 1 new; 1 stored" in text, text[-3000:]
    found = re.findall(r"Extraction workers stopped \(pids ([\d, ]+)\)", text)
    assert [[int(pid) for pid in pids.split(", ")] for pids in found] == [workers]
    assert not any(alive(pid) for pid in workers)
