"""One story at three outlets (verbatim, re-headlined with a dateline, cut to a teaser), a
different story on the same subject, two outlets' own reports of one event, and a page whose
text changes between two crawls: end to end through `newsmon crawl`, `export` and `stories`."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.config_files import yaml_data, yaml_text
from tests.conftest import TEST_SETTINGS, run_cli, write_config
from tests.outlets import TOPICS, page, rss2
from tests.sites import Site


def records(config) -> list[dict]:
    result = run_cli("export", "--config", str(config), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def reheadlined(html: bytes) -> bytes:
    text = html.decode()
    text = text.replace(
        "Pentagon expands use of artificial intelligence in military planning",
        "US military bets on AI to plan its operations",
    )
    text = text.replace(
        "<p>The Pentagon said on Monday", "<p>WASHINGTON (Wire) - The Pentagon said on Monday"
    )
    footer = "Distributed by Wire Services. Reuse prohibited without a licence."
    text = text.replace("Copyright Defense Wire. All rights reserved.", footer)
    return text.encode()


def teaser(html: bytes) -> bytes:
    text = html.decode()
    paragraphs = re.findall(r"<p>.*?</p>", text, re.DOTALL)
    body = "".join(p for p in paragraphs if "Jane Porter" not in p)
    cut = body[: body.index("<p>Critics")]
    return re.sub(
        r"<article>.*</article>",
        "<article><h1>Pentagon bets on AI</h1>"
        + cut
        + "<p>Read the full story at Defense Wire, our partner site.</p></article>",
        text,
        flags=re.DOTALL,
    ).encode()


@dataclass
class Crawled:
    """Four outlets crawled in order, once for the tests that only read what was stored."""

    config: Path
    by_url: dict[str, dict]
    source: str  # the wire's original
    verbatim: str  # the daily's copy of its words...
    printed: str  # ...and the daily's print version of the same page
    renamed: str  # the weekly's copy, re-headlined with a dateline
    short: str  # the blog's teaser of it
    llama_a: str  # two outlets' own reports of one event
    llama_b: str
    developing: str  # the blog's page that changes later
    blog: Site
    done: float  # time.monotonic() when the last crawl ended

    @property
    def first(self) -> dict:
        return self.by_url[self.source]

    @property
    def daily_copy(self) -> dict:
        # Of the daily's two versions, whichever was extracted first is the stored one.
        return self.by_url.get(self.verbatim) or self.by_url[self.printed]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    wire, daily, weekly, blog = sites = [Site() for _ in range(4)]
    try:
        original = page("en_pentagon_ai.html")
        source = wire.add("/pentagon-ai", original)
        verbatim = daily.add("/wire/pentagon-ai", original)
        printed = daily.add("/print/pentagon-ai", original)  # the same outlet's other version
        renamed = weekly.add("/us-military-bets-on-ai", reheadlined(original))
        short = blog.add("/pentagon-teaser", teaser(original))
        llama_a = daily.add("/meta-llama-defense", page("en_meta_llama_a.html"))
        llama_b = weekly.add("/llama-goes-to-war", page("en_meta_llama_b.html"))
        developing = blog.add(
            "/developing", page("de_bundeswehr_ki.html"), content_type="text/html"
        )
        for site, links in (
            (wire, [source]),
            (daily, [verbatim, printed, llama_a]),
            (weekly, [renamed, llama_b]),
            (blog, [short, developing]),
        ):
            site.add("/feed.xml", rss2([("x", link) for link in links]))
        outlets = (("wire", wire), ("daily", daily), ("weekly", weekly))
        sources = [{"name": name, "url": site.url("/feed.xml")} for name, site in outlets]
        sources.append({"name": "blog", "url": blog.url("/feed.xml"), "updates": "1s"})
        directory = tmp_path_factory.mktemp("copies")
        settings = {"database": f"sqlite:///{directory / 'newsmon.db'}", **TEST_SETTINGS}
        config = write_config(directory / "config", settings, sources, TOPICS)
        for name in ("wire", "daily", "weekly", "blog"):  # in order: the wire's copy comes first
            result = run_cli("crawl", "--config", str(config), "--source", name)
            assert result.returncode == 0, result.stderr
        yield Crawled(
            config,
            {record["url"]: record for record in records(config)},
            source,
            verbatim,
            printed,
            renamed,
            short,
            llama_a,
            llama_b,
            developing,
            blog,
            time.monotonic(),
        )
    finally:
        for site in sites:
            site.close()


def test_the_first_of_a_text_is_the_original(crawled: Crawled) -> None:
    assert crawled.first["duplicate_of"] is None
    assert crawled.first["seen_urls"] == []


def test_the_same_words_at_another_outlet_are_a_copy(crawled: Crawled) -> None:
    # A copy with its own URL and source; at the same outlet under another URL: the same
    # article.
    daily_copy = crawled.daily_copy
    assert daily_copy["duplicate_of"] == crawled.first["id"] and daily_copy["source"] == "daily"
    assert {daily_copy["url"], *daily_copy["seen_urls"]} == {crawled.verbatim, crawled.printed}


def test_near_copies_keep_their_url_and_source(crawled: Crawled) -> None:
    by_url = crawled.by_url
    assert by_url[crawled.renamed]["duplicate_of"] == crawled.first["id"]
    assert by_url[crawled.renamed]["source"] == "weekly"
    assert by_url[crawled.short]["duplicate_of"] == crawled.first["id"]


def test_other_texts_are_not_copies(crawled: Crawled) -> None:
    by_url = crawled.by_url
    assert by_url[crawled.llama_a]["duplicate_of"] is None
    assert by_url[crawled.llama_b]["duplicate_of"] is None
    assert by_url[crawled.developing]["duplicate_of"] is None


def test_copies_share_the_story_of_their_original(crawled: Crawled) -> None:
    by_url = crawled.by_url
    assert (
        crawled.daily_copy["story_id"]
        == by_url[crawled.renamed]["story_id"]
        == by_url[crawled.short]["story_id"]
        == crawled.first["story_id"]
    )


def test_two_outlets_reports_of_one_event_share_a_story(crawled: Crawled) -> None:
    by_url = crawled.by_url
    assert by_url[crawled.llama_a]["story_id"] == by_url[crawled.llama_b]["story_id"]
    assert by_url[crawled.llama_a]["story_id"] != crawled.first["story_id"]


def test_a_different_event_on_the_subject_has_its_own_story(crawled: Crawled) -> None:
    by_url = crawled.by_url
    assert by_url[crawled.developing]["story_id"] not in (
        crawled.first["story_id"],
        by_url[crawled.llama_a]["story_id"],
    )


def test_stories_command_counts_articles_and_outlets(crawled: Crawled) -> None:
    stories = run_cli("stories", "--config", str(crawled.config), "--since", "1d")
    assert stories.returncode == 0, stories.stderr
    assert "4 articles, 4 outlets" in stories.stdout  # the Pentagon story and its copies
    assert "2 articles, 2 outlets" in stories.stdout  # the Llama story


def test_hits_list_copies_under_their_original(crawled: Crawled) -> None:
    hits = run_cli("hits", "--config", str(crawled.config), "--topic", "nato")
    assert "copies: 3" in hits.stdout
    # Copies are listed under their original, not as hits of their own.
    lines = hits.stdout.splitlines()
    copy_lines = [line for line in lines if line.lstrip().startswith("copy ")]
    assert len(copy_lines) == 3
    assert crawled.renamed in "".join(copy_lines)
    assert crawled.daily_copy["url"] in "".join(copy_lines)
    originals = [line for line in lines if line.strip()[:1].isdigit()]
    assert len(originals) == 1 and "Pentagon expands use" in originals[0]


def test_a_changed_page_is_updated_in_place(crawled: Crawled, tmp_path: Path) -> None:
    """The developing story changes; its source re-checks known pages for updates. On a copy
    of the store, so the tests that read the crawled one never see the change."""
    config = copy_store(crawled.config, tmp_path)
    changed = page("de_bundeswehr_ki.html").replace(
        "Grundlage ist ein Bericht".encode("iso-8859-1"),
        "Inzwischen hat auch die NATO Interesse an dem System angemeldet, wie ein Sprecher "
        "der Allianz am Donnerstag sagte. Grundlage ist ein Bericht".encode("iso-8859-1"),
    )
    blog, short, developing = crawled.blog, crawled.short, crawled.developing
    blog.add("/developing", changed, content_type="text/html")
    blog.add("/feed.xml", rss2([("x", short), ("y", developing), ("z", developing + "?v=2")]))
    time.sleep(max(0.0, crawled.done + 1.5 - time.monotonic()))  # `updates: 1s` has passed
    result = run_cli("crawl", "--config", str(config), "--source", "blog")
    assert result.returncode == 0, result.stderr
    updated = {r["url"]: r for r in records(config)}[developing]
    assert updated["id"] == crawled.by_url[developing]["id"]  # still one article
    assert "Interesse an dem System" in updated["text"]
    assert updated["updated_at"] is not None
    assert updated["topics"] == ["ai-military", "nato"]  # re-tagged with the new text
    versions = run_cli("versions", str(updated["id"]), "--config", str(config))
    assert versions.returncode == 0, versions.stderr
    assert "then +18 words, -0 words" in versions.stdout  # the added sentence
    assert len(records(config)) == len(crawled.by_url)  # no new article


def copy_store(config: Path, directory: Path) -> Path:
    """The config with its SQLite store copied under `directory` (SQLite's backup API, so the
    copy is whole whatever the journal holds)."""
    settings = yaml_data((config / "settings.yaml").read_text(encoding="utf-8"))
    source = settings["database"].removeprefix("sqlite:///")
    target = directory / "newsmon.db"
    with closing(sqlite3.connect(source)) as old, closing(sqlite3.connect(target)) as new:
        old.backup(new)
    copy = directory / "config"
    shutil.copytree(config, copy)
    settings["database"] = f"sqlite:///{target}"
    (copy / "settings.yaml").write_text(yaml_text(settings))
    return copy


def wire_copy(html: bytes) -> bytes:
    """The wire's run of an outlet's story: a day later, another headline, a dateline."""
    return reheadlined(html).replace(b"2024-11-04T09:30:00Z", b"2024-11-05T08:00:00Z")


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_the_original_is_the_article_published_first(
    store, site_factory, make_config, request
) -> None:
    wire, outlet, daily, blog = (site_factory() for _ in range(4))
    story = page("en_pentagon_ai.html")
    wired = wire.add("/us-military-bets-on-ai", wire_copy(story))
    original = outlet.add("/pentagon-ai", story)
    rerun = daily.add("/wire/us-military-bets-on-ai", wire_copy(story))  # the wire's words
    short = blog.add("/pentagon-teaser", teaser(story).replace(b"2024-11-04", b"2024-11-06"))
    sites = (
        ("wire", wire, wired),
        ("outlet", outlet, original),
        ("daily", daily, rerun),
        ("blog", blog, short),
    )
    for _, site, link in sites:
        site.add("/feed.xml", rss2([("x", link)]))
    database = {}
    if store == "postgresql":
        database["database"] = request.getfixturevalue("postgres_url")
    config = make_config(
        [{"name": name, "url": site.url("/feed.xml")} for name, site, _ in sites],
        TOPICS,
        **database,
    )
    for name, _, _ in sites:  # the wire's copy is fetched first, the original second
        result = run_cli("crawl", "--config", str(config), "--source", name)
        assert result.returncode == 0, result.stderr

    by_url = {record["url"]: record for record in records(config)}
    assert by_url[original]["published"].startswith("2024-11-04T09:30")
    assert by_url[wired]["published"].startswith("2024-11-05T08:00")
    assert by_url[wired]["id"] < by_url[original]["id"]  # fetched first
    assert by_url[original]["duplicate_of"] is None
    assert by_url[wired]["duplicate_of"] == by_url[original]["id"]
    assert by_url[rerun]["duplicate_of"] == by_url[original]["id"]  # same words as the wire's
    assert by_url[short]["duplicate_of"] == by_url[original]["id"]  # near copy, found by index
    assert by_url[original]["copies"] == 3 and by_url[wired]["copies"] == 0
    assert len({record["story_id"] for record in by_url.values()}) == 1

    hits = run_cli("hits", "--config", str(config), "--topic", "ai-military")
    assert hits.returncode == 0, hits.stderr
    originals = [line for line in hits.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(originals) == 1 and "Pentagon expands use" in originals[0]
    assert "copies: 3" in hits.stdout


def test_an_earlier_copy_takes_over_in_the_same_process(tmp_path) -> None:
    """The pipelines in process, as one crawl runs them: the store re-points the group in the
    new article's transaction, and the near-duplicate index swaps originals after the commit."""
    from scrapy.utils.test import get_crawler

    from crawler.items import Article
    from crawler.match.fingerprints import text_keys
    from crawler.store.database import engine_for
    from crawler.store.indexes import ArticleIndexes
    from crawler.store.schema import articles
    from pipelines.dedup import DedupPipeline
    from pipelines.store import StorePipeline
    from tests.test_neardup import ARTICLE

    database = f"sqlite:///{tmp_path / 'store.db'}"
    stats = get_crawler().stats
    indexes = ArticleIndexes(engine_for(database))
    dedup = DedupPipeline(engine_for(database), indexes, stats)
    store = StorePipeline(engine_for(database), False, stats, indexes)

    def crawled(source: str, text: str, day: int | None) -> Article:
        item = Article(
            source=source,
            url=f"http://{source}.example/story",
            text=text,
            published=datetime(2024, 11, day, 9, tzinfo=UTC) if day else None,
            fetched_at=datetime.now(UTC),
        )
        item.fingerprint, item.signature = text_keys(text)
        store.process_item(dedup.process_item(item))  # which updates the indexes
        return item

    wire = crawled("wire", "WASHINGTON (Wire) - " + ARTICLE, 5)
    assert wire.duplicate_of is None and wire.replaced is None
    original = crawled("outlet", ARTICLE, 4)
    assert original.duplicate_of is None and original.replaced == wire.id
    teaser = crawled("blog", ARTICLE[: len(ARTICLE) * 2 // 3], 6)
    same_day = crawled("daily", "PARIS (AFP) - " + ARTICLE, 4)  # a tie: first fetched stays
    undated = crawled("weekly", "BERLIN (dpa) - " + ARTICLE, None)
    assert teaser.duplicate_of == same_day.duplicate_of == undated.duplicate_of == original.id
    assert len(dedup.index) == 1
    with engine_for(database).connect() as connection:
        stored = dict(connection.execute(select(articles.c.id, articles.c.duplicate_of)).all())
    assert stored == {
        wire.id: original.id,
        original.id: None,
        teaser.id: original.id,
        same_day.id: original.id,
        undated.id: original.id,
    }
