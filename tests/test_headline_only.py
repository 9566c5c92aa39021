"""Headline-only articles (issue 19): a page without article text whose entry has a title is
kept with the entry's title and summary when it is an article page (a paywall, a consent wall),
and dropped otherwise (a home page, a tag page, a PDF); shown as such in export, `hits` and the
web app; upgraded in place when a later fetch gets the text. Real HTTP on 127.0.0.1, real
SQLite, the real CLI for crawls."""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from lxml.html import document_fromstring
from scrapy.exceptions import DropItem
from sqlalchemy import select, update

from crawler.config.files import load_config, load_topics
from crawler.extract.headline import (
    Headline,
    article_page,
    headline_text,
    home_page,
    section_page,
)
from crawler.extract.pool import extract
from crawler.items import Article
from crawler.match.near_duplicates import NearDuplicateIndex
from crawler.match.terms import Matcher
from crawler.review.web import create_app
from crawler.store.database import engine_for
from crawler.store.indexes import ArticleIndexes
from crawler.store.queries import iter_records, versions_of
from crawler.store.reviews import set_review
from crawler.store.schema import articles
from pipelines.dedup import DedupPipeline
from pipelines.extract import ExtractPipeline
from pipelines.store import StorePipeline
from pipelines.story import StoryPipeline
from pipelines.tag import TagPipeline
from tests.conftest import run_cli, write_config
from tests.outlets import TOPICS, page

PAYWALL_TITLE = "Pentagon awards artificial intelligence contract for military planning"
PAYWALL_SUMMARY = (
    "The Pentagon awarded a contract to bring artificial intelligence tools to military "
    "planning staffs, defence officials said on Monday."
)
CONSENT_TITLE = "Army tests AI for military logistics"
# Escaped in the feed's HTML: the entry's plain-text summary says "<script>...", which every
# page must show as text.
CONSENT_SUMMARY = "&lt;script&gt;alert(1)&lt;/script&gt; The army is testing the software."

PAYWALLED = """<!doctype html><html lang="en"><head><title>{title} | Defense Daily</title>
<meta property="og:type" content="article">
<meta property="article:published_time" content="2024-11-04T08:15:00+00:00">
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "{title}", "isAccessibleForFree": false}}</script></head>
<body><nav><a href="/">Home</a> <a href="/tag/ai/">AI</a></nav>
<article><h1>{title}</h1><p>The Pentagon awarded a contract on Monday.</p>
<div class="paywall"><p>Subscribe to read the full story.</p>
<p><a href="/subscribe">Subscribe now</a></p></div></article></body></html>"""

# A consent wall served at the article's URL: no article markup at all, only the wall.
CONSENT = """<!doctype html><html><head><title>Before you continue</title></head><body>
<div id="cmp"><h2>We value your privacy</h2><p>We and our partners store cookies.</p>
<button>Accept all</button> <button>Reject all</button></div></body></html>"""

# The same paywalled article once the paywall lifted: its full text, NATO included.
FULL = """<!doctype html><html lang="en"><head><title>{title}</title>
<meta property="og:type" content="article"></head><body><article><h1>{title}</h1>
<p>The Pentagon awarded a contract on Monday to bring artificial intelligence tools to the
planning staffs of the military, defence officials said, in a move that follows two years of
trials at regional commands and a review of how such software handles classified data.</p>
<p>The tools will help officers draft logistics plans and compare courses of action, and they
will be tested first with NATO partners during an exercise in the spring, the officials said,
adding that human planners would keep the final say over every decision the tools support.</p>
<p>Critics in Congress asked for more oversight of the programme and for regular reports on
its costs, its errors and its use in operations.</p>
</article></body></html>"""

TAG_PAGE = """<!doctype html><html><head><title>AI | Defense Daily</title>
<meta property="og:type" content="website"></head><body><h1>AI</h1>
<article><a href="/a">One</a></article><article><a href="/b">Two</a></article></body></html>"""

HOME_PAGE = """<!doctype html><html><head><title>Defense Daily</title></head>
<body><h1>Defense Daily</h1><p>Latest news.</p></body></html>"""


def rss(items: list[tuple[str, str, str | None]]) -> bytes:
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        + (f"<description>{escape(summary)}</description>" if summary else "")
        + "<pubDate>Mon, 04 Nov 2024 10:00:00 GMT</pubDate></item>"
        for title, link, summary in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Defense Daily</title><link>http://example.org/</link>{entries}</channel></rss>"
    ).encode()


# --- the rule ---------------------------------------------------------------------------


def tree(html: str):
    return document_fromstring(html)


def test_article_pages_and_pages_that_are_not() -> None:
    paywalled = tree(PAYWALLED.format(title="T"))
    consent = tree(CONSENT)
    assert article_page(paywalled, "https://x.example/2024/11/t", "https://x.example/2024/11/t")
    # Declared an article: kept whatever its URL, unless that is a home page.
    assert article_page(paywalled, "https://x.example/news/t", "https://x.example/news/t")
    assert not article_page(paywalled, "https://x.example/2024/11/t", "https://x.example/")
    # Nothing declared: the link must look like an article's.
    for url in (
        "https://x.example/2024/11/story",
        "https://x.example/news/army-tests-ai-logistics",
        "https://x.example/news/army-story.html",
        "https://x.example/?p=1234",
        "https://x.example/articles/12345",
    ):
        assert article_page(consent, url, url), url
    for url in (
        "https://x.example/",
        "https://x.example/en/",
        "https://x.example/index.html",
        "https://x.example/tag/ai/",
        "https://x.example/category/defence-industry-news",
        "https://x.example/author/jane-porter-smith",
        "https://x.example/empty",
        "https://x.example/world",
    ):
        assert not article_page(consent, url, url), url
    # A listing is no article page, even with <article> elements and an article-like URL.
    assert not article_page(
        tree(TAG_PAGE), "https://x.example/tag/ai/", "https://x.example/tag/ai/"
    )
    one = tree("<html><body><article><p>Teaser.</p></article></body></html>")
    assert article_page(one, "https://x.example/news/x", "https://x.example/news/x")


def test_url_classes() -> None:
    assert home_page("https://x.example") and home_page("https://x.example/fr/index.php")
    assert not home_page("https://x.example/?p=3") and not home_page("https://x.example/en/a-b")
    assert section_page("https://x.example/rubrique/defense/") and section_page("https://x/tags/x")
    assert not section_page("https://x.example/2024/11/tagged-story")


def test_headline_text_keys_title_and_summary() -> None:
    assert headline_text(" A  title ", "The  summary.") == "A title The summary."
    assert headline_text("A title", None) == "A title"
    assert headline_text("A title", "  ") == "A title"


def test_extraction_keeps_headline_only_article_pages() -> None:
    url = "https://x.example/2024/11/pentagon-contract"
    html = PAYWALLED.format(title=PAYWALL_TITLE)
    headline = Headline(url, PAYWALL_TITLE, PAYWALL_SUMMARY)
    extracted, keys = extract(html, url, None, headline)
    assert extracted.text == ""  # the teaser is the wall's, not the article's text
    assert extracted.published == datetime(2024, 11, 4, 8, 15, tzinfo=UTC)  # the page's own
    assert extracted.language == "en"
    # Keyed by the entry's title and summary: not by the empty text.
    assert keys == extract(None, url, None, headline)[1]
    assert (
        keys.fingerprint
        != extract(None, url, None, Headline(url, "Other", PAYWALL_SUMMARY))[1].fingerprint
    )
    # Without a title there is no headline-only article; nor for a page that is no article.
    assert extract(html, url, None, None) is None
    tag = "https://x.example/tag/ai/"
    assert extract(TAG_PAGE, tag, None, Headline(tag, "AI", None)) is None
    # No page at all: the entry's date, its words.
    when = datetime(2024, 11, 4, 10, tzinfo=UTC)
    entry, _ = extract(None, "https://news.example/rss/articles/CBMi", when, headline)
    assert entry.text == "" and entry.published == when and entry.canonical_url is None


def test_headline_threshold_keeps_boilerplate_summaries_apart() -> None:
    """Two short entries that share a boilerplate summary under different titles: the
    index's threshold (0.5) would make one a copy of the other; a headline-only article's
    (`pipelines.dedup.HEADLINE_THRESHOLD`) does not, and still finds the same entry."""
    from crawler.match.fingerprints import text_keys
    from pipelines.dedup import HEADLINE_THRESHOLD

    boilerplate = (
        "Read the full story on Defense Daily, the leading source of news and analysis on the "
        "defence industry, procurement, budgets and military technology, for subscribers and "
        "their teams."
    )
    first = headline_text("Lockheed wins Army missile contract worth two billion", boilerplate)
    second = headline_text("Navy delays frigate programme again after design review", boilerplate)
    index = NearDuplicateIndex()
    index.add(1, text_keys(first).signature)
    query = text_keys(second).signature
    assert index.find(query) == 1  # what the default threshold does with short texts
    assert index.find(query, threshold=HEADLINE_THRESHOLD) is None
    assert index.find(text_keys(first).signature, threshold=HEADLINE_THRESHOLD) == 1


# --- through the pipelines --------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


def run_pipelines(database: str, item: Article) -> tuple[Article | None, Stats]:
    """The crawl's pipelines in order, in this process (extraction too)."""
    engine = engine_for(database)
    stats = Stats()
    extract_stage = ExtractPipeline(stats, None, entry_metadata=True)  # in this process
    indexes = ArticleIndexes(engine)
    stages = [
        DedupPipeline(engine, indexes, stats),
        TagPipeline(Matcher(topic_rules()), stats),
        StoryPipeline(engine, indexes, stats),
        StorePipeline(engine, False, stats, indexes),
    ]

    async def run() -> Article | None:
        try:
            result = await extract_stage.process_item(item)
            for stage in stages:
                result = stage.process_item(result)
            return result
        except DropItem:
            return None

    return asyncio.run(run()), stats


def topic_rules():
    directory = write_config(Path(tempfile.mkdtemp()), {}, [], TOPICS)
    return load_topics(directory / "topics.yaml")


def test_item_without_a_page_is_stored_headline_only(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'newsmon.db'}"
    link = "https://news.example/rss/articles/CBMiunresolved"
    item = Article(
        source="search-en",
        url=link,
        link=link,
        fetched_at=datetime.now(UTC),
        feed_title="NATO allies weigh artificial intelligence for military planning",
        feed_published=datetime(2024, 11, 4, 10, tzinfo=UTC),
        feed_summary="Defence ministers met in Brussels.",
        feed_author="Jane Porter",
        publisher="Defense Daily",
        text_source="feed",
    )
    stored, stats = run_pipelines(database, item)
    assert stored is not None and stored.id is not None
    assert stats.values["newsmon/extract/headline_only"] == 1
    (record,) = iter_records(engine_for(database))
    assert record["text_source"] == "feed" and record["publisher"] == "Defense Daily"
    assert (
        record["title"] == item.feed_title
        and record["text"] == "Defence ministers met in Brussels."
    )
    assert record["url"] == link and record["published"] == "2024-11-04T10:00:00+00:00"
    assert record["author"] == "Jane Porter"  # the entry's: there is no page
    assert set(record["topics"]) == {"ai-military", "nato"}
    with engine_for(database).connect() as connection:
        # Out of the near-duplicate index: no signature kept to rebuild it from.
        assert connection.execute(select(articles.c.signature)).scalar() is None

    # The same entry again (another pass): the same article, nothing stored twice.
    again, _ = run_pipelines(database, Article(**{**item.__dict__, "id": None, "seen_urls": []}))
    assert again is None
    assert len(list(iter_records(engine_for(database)))) == 1


def test_page_article_never_downgraded_by_a_paywall(tmp_path: Path, site) -> None:
    """A stored article whose page, fetched again, now shows a paywall keeps its text."""
    database = f"sqlite:///{tmp_path / 'newsmon.db'}"
    url = site.url("/2024/11/pentagon-contract")
    full = FULL.format(title=PAYWALL_TITLE)
    common = {
        "source": "daily",
        "url": url,
        "link": url,
        "response_url": url,
        "feed_title": PAYWALL_TITLE,
        "feed_summary": PAYWALL_SUMMARY,
    }
    first, _ = run_pipelines(database, Article(**common, html=full, fetched_at=datetime.now(UTC)))
    assert first is not None and first.text_source == "page"
    later = Article(
        **common,
        html=PAYWALLED.format(title=PAYWALL_TITLE),
        recheck=True,
        fetched_at=datetime.now(UTC),
    )
    assert run_pipelines(database, later)[0] is None  # the same article, unchanged
    (record,) = iter_records(engine_for(database))
    assert record["text_source"] == "page" and "NATO partners" in record["text"]


# --- end to end -------------------------------------------------------------------------


@pytest.fixture
def daily(site, make_config):
    """A paywalled outlet's feed: a paywalled and a consent-walled article on the beat, a
    free one, and links that are no articles (a tag page, a PDF, a redirect home)."""
    paywalled = site.add(
        "/2024/11/pentagon-ai-contract", PAYWALLED.format(title=PAYWALL_TITLE), etag='"w1"'
    )
    consent = site.add("/2024/11/army-ai-logistics", CONSENT)
    free = site.add("/2024/11/pentagon-ai", page("en_pentagon_ai.html"))
    tag = site.add("/tag/ai/", TAG_PAGE)
    pdf = site.add(
        "/2024/11/ai-military-report.pdf",
        b"%PDF-1.4\n" + b"0" * 3000,
        content_type="application/pdf",
    )
    site.add("/", HOME_PAGE)
    moved = site.add("/2024/11/moved-story", b"", status=301, headers={"Location": "/"})
    items = [
        (PAYWALL_TITLE, paywalled, PAYWALL_SUMMARY),
        (CONSENT_TITLE, consent, CONSENT_SUMMARY),
        ("Pentagon expands use of AI", free, None),
        ("Artificial intelligence for the military", tag, "All our AI military stories."),
        ("AI military report (PDF)", pdf, "The artificial intelligence military report."),
        ("NATO artificial intelligence military story", moved, "Moved."),
    ]
    site.add("/feed.xml", rss(items), content_type="application/rss+xml")
    config = make_config(
        [{"name": "daily", "url": site.url("/feed.xml"), "language": "en"}], TOPICS
    )
    return config, items


def export(config: Path) -> dict[str, dict]:
    result = run_cli("export", "--config", str(config), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    return {record["url"]: record for record in map(json.loads, result.stdout.splitlines())}


def test_paywalled_and_consent_walled_entries_become_headline_only_hits(site, daily) -> None:
    config, items = daily
    paywalled, consent_url, free = (link for _, link, _ in items[:3])
    crawl = run_cli("crawl", "--config", str(config))
    assert crawl.returncode == 0, crawl.stderr
    assert "Articles: 3 new (2 headline-only), 0 known, 3 skipped" in crawl.stdout, crawl.stdout
    records = export(config)
    assert set(records) == {paywalled, consent_url, free}, sorted(records)  # no tag/PDF/home

    hit = records[paywalled]
    assert hit["text_source"] == "feed"
    assert hit["title"] == PAYWALL_TITLE and hit["text"] == PAYWALL_SUMMARY
    assert hit["topics"] == ["ai-military"]  # tagged on the title and summary
    assert hit["published"] == "2024-11-04T08:15:00+00:00"  # the page's own date
    assert hit["language"] == "en" and hit["duplicate_of"] is None
    walled = records[consent_url]
    assert walled["text_source"] == "feed" and walled["title"] == CONSENT_TITLE
    assert walled["topics"] == ["ai-military"]
    assert records[free]["text_source"] == "page"

    hits = run_cli("hits", "--config", str(config), "--since", "100000d")
    assert hits.returncode == 0, hits.stderr
    lines = hits.stdout.splitlines()
    assert any("[headline] Pentagon awards" in line for line in lines), hits.stdout
    assert any(f"[headline] {CONSENT_TITLE}" in line for line in lines)
    assert not any("[headline] Pentagon expands" in line for line in lines)

    engine = engine_for(load_config(config).settings.database)
    client = create_app(engine, load_config(config)).test_client()
    listing = client.get("/hits?topic=ai-military&since=2000-01-01").get_data(as_text=True)
    assert listing.count('class="badge headline-only"') == 2
    article = client.get(f"/articles/{walled['id']}").get_data(as_text=True)
    assert "Headline only" in article and "The page gave no article text" in article
    assert "<script>alert(1)" not in article and "&lt;script&gt;alert(1)" in article
    free_page = client.get(f"/articles/{records[free]['id']}").get_data(as_text=True)
    assert "Headline only" not in free_page

    # The paywall lifts: a later pass (the feed changed, the article is due for a re-check)
    # gets the full text. Same id, review kept, re-tagged, the summary kept as a version.
    set_review(engine, hit["id"], "relevant")
    set_review(engine, hit["id"], "note", "paywalled at first")
    with engine.begin() as connection:
        connection.execute(
            update(articles)
            .where(articles.c.id == hit["id"])
            .values(checked_at=datetime.now(UTC) - timedelta(hours=7))
        )
    site.add("/2024/11/pentagon-ai-contract", FULL.format(title=PAYWALL_TITLE))
    consent_fetches = site.hits["/2024/11/army-ai-logistics"]
    site.add(
        "/feed.xml",
        rss([*items, ("More news", site.url("/2024/11/more-news"), None)]),
        content_type="application/rss+xml",
    )
    second = run_cli("crawl", "--config", str(config))
    assert second.returncode == 0, second.stderr
    upgraded = export(config)[paywalled]
    assert upgraded["id"] == hit["id"]
    assert upgraded["text_source"] == "page"
    assert "NATO partners" in upgraded["text"]
    assert set(upgraded["topics"]) == {"ai-military", "nato"}
    assert upgraded["review"]["verdict"] == "relevant"
    assert upgraded["review"]["note"] == "paywalled at first"
    assert upgraded["updated_at"] is not None
    (version,) = versions_of(engine, hit["id"])
    assert version["text"] == PAYWALL_SUMMARY
    versions = run_cli("versions", "--config", str(config), str(hit["id"]))
    assert "page text replaces the headline-only summary" in versions.stdout, versions.stdout
    # The consent-walled one was checked an hour ago at most: not due again yet.
    assert site.hits["/2024/11/army-ai-logistics"] == consent_fetches
    assert export(config)[consent_url]["text_source"] == "feed"


def test_sources_check_previews_headline_only_articles(daily) -> None:
    """The dry run of `sources check` says what the crawl would keep: the paywalled and the
    consent-walled entries headline-only, tagged on their title and summary."""
    config, _ = daily
    result = run_cli("sources", "check", "daily", "--config", str(config))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    at = lines.index(f"  {PAYWALL_TITLE}")
    assert lines[at + 1].startswith("    headline only, ") and "ai-military" in lines[at + 1]
    at = lines.index(f"  {CONSENT_TITLE}")
    assert lines[at + 1].startswith("    headline only, ") and "ai-military" in lines[at + 1]
    assert "Pentagon expands use of artificial intelligence" in result.stdout
