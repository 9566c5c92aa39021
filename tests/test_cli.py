"""The review commands over a crawled store: hits, sources list, topics test, export options;
and the Scrapy project entry points (`scrapy list`, `scrapy crawl feeds`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, TEST_SETTINGS, run_cli, write_config
from tests.outlets import TOPICS, page, rss2
from tests.sites import Site


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Site]]:
    """One crawl for the module: its tests only read the store (and the site, for a URL)."""
    site = Site()
    pentagon = site.add("/en", page("en_pentagon_ai.html"))
    meta = site.add("/fr", page("fr_meta_llama.html"))
    bread = site.add("/bread", page("offbeat_sidebar.html"))
    site.add("/feed.xml", rss2([("a", pentagon), ("b", meta), ("c", bread)]))
    directory = tmp_path_factory.mktemp("crawled")
    config = write_config(
        directory / "config",
        {"database": f"sqlite:///{directory / 'newsmon.db'}", **TEST_SETTINGS},
        [
            {"name": "wire", "url": site.url("/feed.xml")},
            {"name": "dead", "url": site.url("/nothing.xml")},
            {"name": "later", "url": site.url("/x.xml"), "enabled": False},
        ],
        TOPICS,
    )
    try:
        result = run_cli("crawl", "--config", str(config))
        assert result.returncode == 0, result.stderr
        yield config, site
    finally:
        site.close()


def test_hits_table(crawled) -> None:
    config, site = crawled
    result = run_cli("hits", "--config", str(config), "--since", "1d")
    assert result.returncode == 0, result.stderr
    assert "Pentagon expands use of artificial intelligence" in result.stdout
    assert "Meta ouvre" in result.stdout
    assert "sourdough" not in result.stdout.lower()  # untagged articles are not hits
    assert "ai-military: " in result.stdout and "usage militaire" in result.stdout
    nato = run_cli("hits", "--config", str(config), "--topic", "nato")
    assert "Pentagon" in nato.stdout and "Meta" not in nato.stdout
    limited = run_cli("hits", "--config", str(config), "--limit", "1")
    assert limited.stdout.count("wire") == 1
    unknown = run_cli("hits", "--config", str(config), "--topic", "nope")
    assert unknown.returncode == 2 and "no topic named 'nope'" in unknown.stderr


def test_export_filters_and_file(crawled, tmp_path: Path) -> None:
    config, _ = crawled
    output = tmp_path / "out.jsonl"
    options = ["--topic", "ai-military", "--since", "2000-01-01", "--output", str(output)]
    result = run_cli("export", "--config", str(config), "--format", "jsonl", *options)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 2 and all("ai-military" in r["topics"] for r in records)
    # Oldest fetched first (ids follow the order of storing, which the extraction workers
    # may change).
    assert [r["fetched_at"] for r in records] == sorted(r["fetched_at"] for r in records)
    assert not list(tmp_path.glob("*.part"))
    future = run_cli(
        "export", "--config", str(config), "--format", "jsonl", "--since", "2999-01-01"
    )
    assert future.returncode == 0 and future.stdout == ""
    bad = run_cli("export", "--config", str(config), "--format", "jsonl", "--since", "soon")
    assert bad.returncode == 2 and "neither a duration" in bad.stderr


def test_sources_list(crawled) -> None:
    config, _ = crawled
    result = run_cli("sources", "list", "--config", str(config))
    assert result.returncode == 0, result.stderr
    lines = result.stdout
    assert "wire  [feed]" in lines and "ok, 3 entries, 3 new" in lines
    assert "dead  [feed]" in lines and "error: HTTP 404 (1 in a row)" in lines
    assert "later (disabled)" in lines and "never fetched" in lines


def test_topics_test_text_file_and_url(crawled, tmp_path: Path) -> None:
    config, site = crawled
    text = run_cli(
        "topics",
        "test",
        "--config",
        str(config),
        "Le Pentagone et l'IA : un usage militaire assumé",
    )
    assert text.returncode == 0, text.stderr
    assert "ai-military: IA, usage militaire" in text.stdout
    nothing = run_cli("topics", "test", "--config", str(config), "said Taiwan ai")
    assert "No topic matches." in nothing.stdout
    html = tmp_path / "page.html"
    html.write_bytes(page("offbeat_sidebar.html"))
    from_file = run_cli("topics", "test", "--config", str(config), "--file", str(html))
    assert "No topic matches." in from_file.stdout  # the sidebar and comments do not count
    from_url = run_cli("topics", "test", "--config", str(config), "--url", site.url("/fr"))
    assert from_url.returncode == 0, from_url.stderr
    assert "Title: Meta ouvre" in from_url.stdout and "ai-military:" in from_url.stdout
    neither = run_cli("topics", "test", "--config", str(config))
    assert neither.returncode == 2 and "exactly one of" in neither.stderr


def test_crawl_named_source_only(site, make_config) -> None:
    site.add("/a.xml", rss2([]))
    site.add("/b.xml", rss2([]))
    config = make_config(
        [
            {"name": "a", "url": site.url("/a.xml")},
            {"name": "b", "url": site.url("/b.xml"), "enabled": False},
        ]
    )
    result = run_cli("crawl", "--config", str(config), "--source", "b")
    assert result.returncode == 0, result.stderr
    assert "/b.xml" in site.hits and "/a.xml" not in site.hits
    unknown = run_cli("crawl", "--config", str(config), "--source", "zzz")
    assert unknown.returncode == 2 and "no source named zzz" in unknown.stderr


def test_scrapy_entry_points(site, make_config) -> None:
    site.add("/feed.xml", rss2([("a", site.add("/en", page("en_pentagon_ai.html")))]))
    config = make_config([{"name": "wire", "url": site.url("/feed.xml")}], TOPICS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env.update(NEWSMON_CONFIG=str(config), PYTHONPATH=str(REPO))
    scrapy = [sys.executable, "-m", "scrapy"]
    listed = subprocess.run([*scrapy, "list"], cwd=REPO, env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["feeds", "listings", "sitemaps"]
    crawl = subprocess.run(
        [*scrapy, "crawl", "feeds"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert crawl.returncode == 0, crawl.stderr
    exported = run_cli("export", "--config", str(config), "--format", "jsonl")
    assert len(exported.stdout.splitlines()) == 1
