"""crawler.sources.candidates: declared and guessed feeds of a page, their ranking, and probe URLs.

Pages are written inline; the last test runs over every page of the shared corpus.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest
from w3lib.encoding import html_to_unicode

from crawler.sources.candidates import (
    COMMON_FEED_PATHS,
    COMMON_SITEMAP_PATHS,
    FeedCandidate,
    candidate_urls,
    feed_links,
    rank,
    rank_sitemaps,
    robots_url,
)
from tests.conftest import CORPUS

HOME = "https://www.defense-news.example/"

DATA = Path(__file__).parent / "data" / "listing"


def homepage() -> str:
    """A WordPress homepage as it is served: site feed, comments feed, a category feed, the
    REST API and oEmbed alternates (not feeds), translations, and feed links in the footer."""
    return (DATA / "homepage-feeds.html").read_text(encoding="utf-8")


def test_feed_links_reads_declared_feeds_first_then_feed_looking_anchors() -> None:
    assert feed_links(homepage(), HOME) == [
        FeedCandidate(f"{HOME}comments/feed/", "Defense News Example » Comments Feed", "rss"),
        FeedCandidate(f"{HOME}feed/", "Defense News Example » Feed", "rss"),
        FeedCandidate(f"{HOME}feed/atom/", "Atom", "atom"),
        FeedCandidate(f"{HOME}category/drones/feed/", "Drones category", "rss"),
        FeedCandidate(f"{HOME}feed/json/", "JSON Feed", "json"),
        FeedCandidate("https://feeds.feedburner.example/defense-news", None, "rss"),
        # anchors: same site only, guessed kinds
        FeedCandidate(f"{HOME}rss/newsletter.xml", "Newsletter RSS", "rss"),
        FeedCandidate(f"{HOME}topics/ai/atom.xml", "AI topic, Atom", "atom"),
        FeedCandidate("https://live.defense-news.example/feeds/live.rss", "Live blog feed", "rss"),
        FeedCandidate(f"{HOME}?feed=rss2", "Legacy feed", "rss"),
    ]


def test_rank_drops_comment_feeds_and_prefers_the_main_feed() -> None:
    ranked = rank(feed_links(homepage(), HOME))
    assert [candidate.url for candidate in ranked] == [
        f"{HOME}?feed=rss2",
        f"{HOME}feed/",
        "https://feeds.feedburner.example/defense-news",
        f"{HOME}feed/atom/",
        "https://live.defense-news.example/feeds/live.rss",
        f"{HOME}rss/newsletter.xml",
        f"{HOME}topics/ai/atom.xml",
        f"{HOME}category/drones/feed/",
        f"{HOME}feed/json/",
    ]


@pytest.mark.parametrize(
    ("url", "title"),
    [
        ("https://a.example/comments/feed/", "Site » Feed"),
        ("https://a.example/?feed=comments-rss2", None),
        ("https://a.example/feed/", "Site » Comments Feed"),
        ("https://a.example/2026/11/story/feed/", "Site » Story title Comments Feed"),
        ("https://a.example/feed/", "Site » Flux des commentaires"),
        ("https://a.example/feed/", "Landesspiegel » Kommentar-Feed"),
        ("https://a.example/feed/", "Feed de comentarios"),
    ],
)
def test_comment_feeds_are_dropped(url: str, title: str | None) -> None:
    assert rank([FeedCandidate(url, title, "rss")]) == []


def test_comment_is_free_is_not_a_comments_feed() -> None:
    opinion = FeedCandidate("https://a.example/commentisfree/rss", "Comment is free", "rss")
    assert rank([opinion]) == [opinion]


def test_rank_orders_kinds_then_depth_then_length_and_dedups() -> None:
    json_feed = FeedCandidate("https://a.example/feed.json", None, "json")
    unknown = FeedCandidate("https://a.example/rss", None, "unknown")
    atom = FeedCandidate("https://a.example/world/atom.xml", None, "atom")
    rss = FeedCandidate("https://a.example/world/rss.xml", None, "rss")
    deep = FeedCandidate("https://a.example/a/b/c/rss.xml", None, "rss")
    duplicate = FeedCandidate("https://a.example/rss", "dup", "rss")
    ranked = rank([json_feed, unknown, deep, atom, rss, duplicate])
    assert ranked == [rss, atom, deep, unknown, json_feed]  # rss.xml is shorter than atom.xml


def test_feed_link_types() -> None:
    def kinds(links: str) -> list[tuple[str, str]]:
        found = feed_links(f"<html><head>{links}</head></html>", HOME)
        return [(c.url.removeprefix(HOME), c.kind) for c in found]

    assert kinds(
        '<link rel="alternate" type="application/rdf+xml" href="/rdf">'
        '<link rel="alternate" type="text/xml" href="/xml">'
        '<link rel="feed" href="/bare-feed">'
        '<link rel="alternate" href="/bare-alternate">'
        '<link rel="alternate" type="application/json" title="JSON Feed" href="/json">'
        '<link rel="alternate" type="text/html" href="/html">'
        '<link rel="feed alternate" type="application/atom+xml" href="/atom">'
    ) == [
        ("rdf", "rss"),
        ("xml", "unknown"),
        ("bare-feed", "unknown"),
        ("json", "json"),
        ("atom", "atom"),
    ]


def test_base_href_and_relative_links() -> None:
    html = (
        '<html><head><base href="https://www.defense-news.example/blog/">'
        '<link rel="alternate" type="application/rss+xml" href="feed/"></head>'
        '<body><a href="rss.xml">RSS</a></body></html>'
    )
    assert [c.url for c in feed_links(html, HOME)] == [f"{HOME}blog/feed/", f"{HOME}blog/rss.xml"]


@pytest.mark.parametrize(
    "html", ["", "   ", "plain text", "<a<a<a" * 10_000, "<html>" * 10_000, "\x00"]
)
def test_feed_links_on_broken_markup(html: str) -> None:
    assert feed_links(html, HOME) == []


def test_feed_links_are_capped_on_pages_with_thousands_of_links() -> None:
    html = (
        "<html><body>"
        + "".join(f'<a href="/feeds/{i}.rss">{i}</a>' for i in range(5000))
        + "</body></html>"
    )
    started = time.perf_counter()
    found = feed_links(html, HOME)
    assert time.perf_counter() - started < 5
    assert len(found) == 100
    assert found[0] == FeedCandidate(f"{HOME}feeds/0.rss", "0", "rss")


# --- probing ---


def test_candidate_urls_at_the_site_root() -> None:
    urls = candidate_urls("https://www.defense-news.example")
    assert urls[:4] == [
        f"{HOME}feed",
        f"{HOME}feed/",
        f"{HOME}rss",
        f"{HOME}rss.xml",
    ]
    assert f"{HOME}?feed=rss2" in urls
    assert f"{HOME}feeds/posts/default" in urls
    assert len(urls) == len(set(urls)) == len(COMMON_FEED_PATHS)


def test_candidate_urls_under_a_directory_come_first() -> None:
    urls = candidate_urls("https://www.defense-news.example/blog/index.html?x=1#top")
    assert urls[0] == f"{HOME}blog/feed"
    assert urls[len(COMMON_FEED_PATHS)] == f"{HOME}feed"
    assert f"{HOME}blog/?feed=rss2" in urls
    assert len(urls) == 2 * len(COMMON_FEED_PATHS)


def test_candidate_urls_for_sitemaps() -> None:
    urls = candidate_urls("http://blog.example:8080/", COMMON_SITEMAP_PATHS)
    assert urls[0] == "http://blog.example:8080/news-sitemap.xml"
    assert "http://blog.example:8080/sitemap_index.xml" in urls
    assert "http://blog.example:8080/sitemap/news.xml" in urls


@pytest.mark.parametrize("url", ["ftp://a.example/", "a.example", "/feed", "mailto:x@a.example"])
def test_candidate_urls_need_an_http_url(url: str) -> None:
    with pytest.raises(ValueError, match="not an absolute http"):
        candidate_urls(url)
    with pytest.raises(ValueError, match="not an absolute http"):
        robots_url(url)


def test_robots_url() -> None:
    assert robots_url("https://www.defense-news.example/section/x?y=1") == f"{HOME}robots.txt"
    assert robots_url("http://a.example:8080") == "http://a.example:8080/robots.txt"


def test_rank_sitemaps_prefers_news_and_drops_media_sitemaps() -> None:
    assert rank_sitemaps(
        [
            f"{HOME}sitemap_index.xml",
            f"{HOME}sitemaps/video-sitemap.xml",
            f"{HOME}image-sitemap-1.xml",
            f"{HOME}sitemap.xml",
            f"{HOME}sitemaps/sitemap-news.xml",
            f"{HOME}news-sitemap.xml",
            f"{HOME}sitemap.xml",
        ]
    ) == [
        f"{HOME}news-sitemap.xml",
        f"{HOME}sitemaps/sitemap-news.xml",
        f"{HOME}sitemap.xml",
        f"{HOME}sitemap_index.xml",
    ]


# --- the shared corpus ---


@pytest.mark.slow
def test_feed_links_on_every_corpus_page() -> None:
    manifest = CORPUS / "articles" / "manifest.jsonl"
    if not manifest.is_file():
        pytest.fail(f"the shared corpus is missing: expected {manifest}")
    rows = [
        json.loads(line)
        for line in manifest.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(rows) == 505
    started = time.perf_counter()
    with_feeds = 0
    for row in rows:
        raw = gzip.decompress((manifest.parent / row["file"]).read_bytes())
        _, html = html_to_unicode(None, raw)  # as Scrapy's response.text decodes
        found = feed_links(html, row["url"])
        ranked = rank(found)
        with_feeds += bool(ranked)
        assert len({c.url for c in found}) == len(found) <= 100
        assert all(c.url.startswith(("http://", "https://")) for c in found)
        assert set(ranked) <= set(found)
    assert time.perf_counter() - started < 120
    assert with_feeds > 200  # most news sites still declare a feed
