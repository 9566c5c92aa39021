"""The indexes of stored articles (crawler/store/indexes.py, pipelines/indexed.py): each crawler
has its own unless its runner shares one, and every index sees what other writers stored: in
process with Scrapy's `get_crawler`, on PostgreSQL with a commit that comes out of id order, and
end to end with a long-running `newsmon run` beside a `newsmon crawl` on one PostgreSQL store.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from scrapy.utils.test import get_crawler
from sqlalchemy import create_engine, delete, select
from sqlalchemy.pool import NullPool

from crawler.extensions import SharedResources
from crawler.items import Article
from crawler.match.fingerprints import text_keys
from crawler.match.stories import story_terms
from crawler.store.database import engine_for
from crawler.store.indexes import HOLE_WAIT, ArticleIndexes
from crawler.store.schema import articles
from pipelines.dedup import DedupPipeline
from pipelines.indexed import indexes_for
from pipelines.store import StorePipeline, insert_article
from pipelines.story import StoryPipeline
from tests.conftest import REPO, run_cli
from tests.outlets import TOPICS, page, rss2
from tests.processes import reap
from tests.test_duplicates_stories import wire_copy
from tests.test_neardup import ARTICLE, SAME_TOPIC

TITLE = "Pentagon tests Virginia firm's AI on drone footage"


def article(source: str, text: str, title: str = TITLE, path: str = "story") -> Article:
    item = Article(
        source=source,
        url=f"http://{source}.example/{path}",
        title=title,
        text=text,
        fetched_at=datetime.now(UTC),
    )
    item.fingerprint, item.signature = text_keys(text)
    return item


class Pipelines:
    """The dedup, story and store stages of one crawler, built as Scrapy builds them."""

    def __init__(self, database: str, **settings: object) -> None:
        # A crawler's own resources, as the add-on gives a plain `scrapy crawl`'s.
        own = {"NEWSMON_DATABASE": database, "NEWSMON_SHARED_RESOURCES": SharedResources()}
        self.crawler = get_crawler(settings_dict={**own, **settings})
        self.dedup = DedupPipeline.from_crawler(self.crawler)
        self.story = StoryPipeline.from_crawler(self.crawler)
        self.store = StorePipeline.from_crawler(self.crawler)

    def crawl(self, item: Article) -> Article:
        return self.store.process_item(self.story.process_item(self.dedup.process_item(item)))


def test_two_crawlers_in_one_process_keep_their_own_indexes(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'store.db'}"
    first, second = Pipelines(database), Pipelines(database)
    indexes = first.dedup.indexes
    assert indexes is first.story.indexes is first.store.indexes  # one set per crawler
    assert second.dedup.indexes is not indexes
    assert second.store.indexes is second.dedup.indexes

    # Both load the store, then the first stores an original: only its own indexes hold it,
    # the second's learn of it from the store at its next lookup.
    first.crawl(article("daily", SAME_TOPIC, "Army buys AI to predict helicopter repairs"))
    assert second.dedup.indexes.refresh() == 0  # loaded, with the daily's article
    original = first.crawl(article("wire", ARTICLE))
    assert original.duplicate_of is None
    assert original.id in first.dedup.index and original.id not in second.dedup.index
    assert original.id in first.story.index and original.id not in second.story.index

    copy = second.crawl(article("blog", "WASHINGTON (Wire) - " + ARTICLE))
    assert copy.duplicate_of == original.id
    assert copy.story_id == original.story_id
    assert second.dedup.indexes.from_elsewhere == 1
    # The other writer's original joined the story window too.
    assert original.id in second.story.index
    terms, title_terms = story_terms(TITLE, ARTICLE)
    assert second.story.indexes.story(terms, title_terms, datetime.now(UTC)) == original.story_id
    assert first.dedup.indexes.from_elsewhere == 0  # the second stored only a copy

    # A runner that shares one set hands it to each of its crawlers.
    shared = ArticleIndexes(engine_for(database))
    third, fourth = (Pipelines(database, NEWSMON_INDEXES=shared) for _ in range(2))
    assert third.dedup.indexes is fourth.store.indexes is shared
    assert indexes_for(third.crawler) is shared


def test_an_id_committed_after_a_later_one_is_found(postgres_url: str) -> None:
    """PostgreSQL takes an id at insert and shows the row at commit: a refresh that saw a
    later id keeps asking for the earlier one until it appears."""
    engine = engine_for(postgres_url)
    indexes = ArticleIndexes(engine)
    indexes.refresh()  # loaded: the store is empty
    with engine.connect() as slow:
        with slow.begin():
            original = article("wire", ARTICLE)
            original.id = insert_article(slow, original, keep_html=False)
            with engine.begin() as quick:
                later = article("daily", SAME_TOPIC)
                later.id = insert_article(quick, later, keep_html=False)
            assert later.id > original.id
            copy = text_keys("WASHINGTON (Wire) - " + ARTICLE)[1]
            assert indexes.near_duplicate(copy) is None  # the original is not committed yet
            assert later.id in indexes.near_duplicates
        assert indexes.near_duplicate(copy) == original.id
    assert indexes.from_elsewhere == 2


def test_an_id_that_never_appears_is_given_up(tmp_path: Path) -> None:
    """An id below the newest that a refresh did not see (rolled back, or deleted) is asked
    for again at each refresh, for `HOLE_WAIT` seconds only."""
    engine = engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    now = [0.0]
    indexes = ArticleIndexes(engine, clock=lambda: now[0])
    indexes.refresh()
    with engine.begin() as connection:
        ids = [
            insert_article(connection, article(source, text), keep_html=False)
            for source, text in (("wire", ARTICLE), ("daily", SAME_TOPIC), ("blog", "Short."))
        ]
        connection.execute(delete(articles).where(articles.c.id == ids[1]))
    assert indexes.refresh() == 2
    assert indexes.waiting == [ids[1]]
    now[0] += HOLE_WAIT / 2
    indexes.refresh()
    assert indexes.waiting == [ids[1]]
    now[0] += HOLE_WAIT
    indexes.refresh()
    assert indexes.waiting == []


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_running_process_finds_what_another_process_stored(
    site_factory, make_config, postgres_url: str, tmp_path: Path
) -> None:
    """`newsmon run` loads its indexes at its first pass; a `newsmon crawl` then stores an
    original and a report of another event; the run's next pass stores a copy of the first
    and another outlet's report of the second: the copy is marked, the report joins the story.
    """
    wire, daily = site_factory(), site_factory()
    story = page("en_pentagon_ai.html")
    original = wire.add("/pentagon-ai", story)
    llama_a = wire.add("/meta-llama-defense", page("en_meta_llama_a.html"))
    wire.add("/feed.xml", rss2([("x", original), ("y", llama_a)]))
    first = daily.add("/developing", page("de_bundeswehr_ki.html"), content_type="text/html")
    daily.add("/feed.xml", rss2([("z", first)]), etag='"1"')

    fast = {"every": "1s", "adaptive": False}
    running = make_config(
        [{"name": "daily", "url": daily.url("/feed.xml"), **fast}],
        TOPICS,
        name="running",
        database=postgres_url,
        jitter=0,
        extract_workers=0,  # a pool's start and stop would only slow the test down
    )
    crawling = make_config(
        [{"name": "wire", "url": wire.url("/feed.xml")}],
        TOPICS,
        name="crawling",
        database=postgres_url,
        extract_workers=0,
    )
    engine_for(postgres_url)  # the store's tables, before anyone reads them
    reader = create_engine(postgres_url, poolclass=NullPool)

    def stored() -> dict[str, tuple[int, int | None, int | None]]:
        with reader.connect() as connection:
            rows = connection.execute(
                select(
                    articles.c.source,
                    articles.c.title,
                    articles.c.id,
                    articles.c.duplicate_of,
                    articles.c.story_id,
                )
            ).all()
        return {f"{row.source}: {row.title}": row[2:] for row in rows}

    log = tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["PYTHONPATH"] = str(REPO)
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "run", "--config", str(running), "--log-file", str(log)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(stored()) == 1, "the run's first article")
        # Its indexes are loaded: before, it would not have seen the crawl's articles.
        assert "Indexes of" in log.read_text(encoding="utf-8")
        result = run_cli("crawl", "--config", str(crawling))
        assert result.returncode == 0, result.stderr
        assert len(stored()) == 3
        copy = daily.add("/wire/us-military-bets-on-ai", wire_copy(story))
        llama_b = daily.add("/llama-goes-to-war", page("en_meta_llama_b.html"))
        daily.add("/feed.xml", rss2([("z", first), ("c", copy), ("b", llama_b)]), etag='"2"')
        wait_for(lambda: len(stored()) == 5, "the run's second pass")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        reap(process)
        reader.dispose()
    by_title = stored()
    (wire_original,) = (v for k, v in by_title.items() if k.startswith("wire: Pentagon"))
    (daily_copy,) = (v for k, v in by_title.items() if k.startswith("daily: US military"))
    (wire_llama,) = (v for k, v in by_title.items() if k.startswith("wire:") and "Llama" in k)
    (daily_llama,) = (v for k, v in by_title.items() if k.startswith("daily:") and "lama" in k)
    assert wire_original[1] is None
    assert daily_copy[1] == wire_original[0]  # the copy is marked
    assert daily_copy[2] == wire_original[2]
    assert daily_llama[1] is None and daily_llama[2] == wire_llama[2]  # one story


def test_copies_extracted_together_find_one_original(site, make_config, tmp_path: Path) -> None:
    """No lock orders the articles past extraction: each one goes from its lookup to its commit
    and the indexes in one step, so copies whose extraction ends together still find the
    first one stored (two workers extract them in parallel)."""
    body = page("en_pentagon_ai.html")
    datelines = ("WASHINGTON", "PARIS", "BERLIN", "LONDON", "ROME", "MADRID")
    links = [
        site.add(
            f"/copy-{n}",
            body.replace(b"<p>The Pentagon said", f"<p>{city} (Wire) - The Pentagon said".encode()),
        )
        for n, city in enumerate(datelines)
    ]
    site.add("/feed.xml", rss2([(f"copy {n}", link) for n, link in enumerate(links)]))
    config = make_config([{"name": "wire", "url": site.url("/feed.xml")}], extract_workers=2)
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 0, result.stderr
    reader = create_engine(f"sqlite:///{tmp_path / 'newsmon.db'}", poolclass=NullPool)
    with reader.connect() as connection:
        rows = connection.execute(
            select(articles.c.id, articles.c.duplicate_of, articles.c.story_id)
        ).all()
    reader.dispose()
    assert len(rows) == len(links)
    (original,) = (row.id for row in rows if row.duplicate_of is None)
    assert {row.duplicate_of for row in rows if row.id != original} == {original}
    assert {row.story_id for row in rows} == {original}
