"""Sitemap-only and listing-only outlets are monitored like feeds: end to end through
`newsmon crawl` against fixture sites on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

from tests.conftest import run_cli
from tests.outlets import TOPICS, page

NEWS_NS = (
    'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
    'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
)


def story(number: int) -> bytes:
    return page("en_pentagon_ai.html").replace(b"Monday", f"day {number}".encode())


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def news_url(loc: str, title: str, published: datetime) -> str:
    return (
        f"<url><loc>{loc}</loc><news:news><news:publication><news:name>Wire</news:name>"
        f"<news:language>en</news:language></news:publication>"
        f"<news:publication_date>{iso(published)}</news:publication_date>"
        f"<news:title>{title}</news:title></news:news></url>"
    )


def test_sitemap_outlet(site, make_config) -> None:
    now = datetime.now(UTC)
    fresh = [site.add(f"/2026/story-{n}", story(n)) for n in range(3)]
    old = site.add("/2019/old-story", story(99))
    site.add(
        "/robots.txt",
        f"User-agent: *\nAllow: /\nSitemap: {site.url('/sitemap_index.xml')}\n",
        content_type="text/plain",
    )
    site.add(
        "/sitemap_index.xml",
        (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{site.url('/news-sitemap.xml')}</loc><lastmod>{iso(now)}</lastmod></sitemap>"
            f"<sitemap><loc>{site.url('/recent.xml.gz')}</loc><lastmod>{iso(now)}</lastmod></sitemap>"
            f"<sitemap><loc>{site.url('/archive-2019.xml')}</loc>"
            "<lastmod>2019-12-31T00:00:00+00:00</lastmod></sitemap>"
            f"<sitemap><loc>{site.url('/sitemap_index.xml')}</loc></sitemap>"  # refers to itself
            "</sitemapindex>"
        ),
        content_type="application/xml",
    )
    site.add(
        "/news-sitemap.xml",
        (
            f'<?xml version="1.0"?><urlset {NEWS_NS}>'
            + news_url(fresh[0], "Story zero", now - timedelta(hours=1))
            + news_url(fresh[1], "Story one", now - timedelta(hours=5))
            + news_url(old, "Old story", now - timedelta(days=5))
            + "</urlset>"
        ),
        content_type="application/xml",
    )
    site.add(
        "/recent.xml.gz",
        gzip.compress(
            (
                '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<url><loc>{fresh[2]}</loc>"
                f"<lastmod>{iso(now - timedelta(hours=2))}</lastmod></url>"
                "</urlset>"
            ).encode()
        ),
        content_type="application/x-gzip",
    )
    config = make_config(
        [{"name": "wire-sitemap", "kind": "sitemap", "url": site.url("/robots.txt")}], TOPICS
    )
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "wire-sitemap: ok, 3 entries, 3 new" in result.stdout, result.stdout
    records = json.loads(
        "["
        + ",".join(
            run_cli("export", "--config", str(config), "--format", "jsonl").stdout.splitlines()
        )
        + "]"
    )
    assert sorted(r["url"] for r in records) == sorted(fresh)
    assert all(r["source"] == "wire-sitemap" and "ai-military" in r["topics"] for r in records)
    assert "/2019/old-story" not in site.hits  # older than max_age (2 days)
    assert "/archive-2019.xml" not in site.hits  # an old child of the index
    assert site.hits["/sitemap_index.xml"] == 1  # the self-reference ended
    listed = run_cli("sources", "list", "--config", str(config))
    assert "problem:" in listed.stdout and "sitemap_index.xml" in listed.stdout

    again = run_cli("crawl", "--config", str(config))  # nothing new, nothing refetched
    assert "Articles: 0 new" in again.stdout
    assert all(site.hits[url.removeprefix(site.base)] == 1 for url in fresh)


def test_sitemap_forms_over_http(site, make_config) -> None:
    """Every form sitemaps.org and robots.txt allow, crawled end to end: robots.txt keys as
    Google reads them (`site-map:`, `Sitemaps:`, no colon), a text sitemap, RSS 2.0 and Atom
    1.0 given as sitemaps, and a sitemap cut inside a <loc> whose fragment is never asked for.
    The text sitemap's raw UTF-8 slug is requested in its percent-encoded form (RFC 3987)."""
    now = datetime.now(UTC)
    site.add("/2026/actualit%C3%A9-ia", story(1))
    in_text = site.url("/2026/actualité-ia")
    in_rss = site.add("/2026/rss-story", story(2))
    in_atom = site.add("/2026/atom-story", story(3))
    in_cut = site.add("/2026/whole-story", story(4))
    site.add(
        "/robots.txt",
        f"User-agent: *\nAllow: /\nsite-map: {site.url('/index.xml')}\n"
        f"Sitemaps: {site.url('/articles.txt')}\nSitemap {site.url('/rss.xml')}\n",
        content_type="text/plain",
    )
    site.add(
        "/index.xml",
        (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{site.url('/cut.xml')}</loc></sitemap>"
            f"<sitemap><loc>{site.url('/atom.xml')}</loc></sitemap></sitemapindex>"
        ),
        content_type="application/xml",
    )
    site.add("/articles.txt", f"{in_text}\n", content_type="text/plain; charset=utf-8")
    site.add(
        "/rss.xml",
        (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
            f"<item><title>RSS story</title><link>{in_rss}</link>"
            f"<pubDate>{now.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
            "</channel></rss>"
        ),
        content_type="application/rss+xml",
    )
    site.add(
        "/atom.xml",
        (
            '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title>'
            f'<entry><title>Atom story</title><link href="{in_atom}"/><id>urn:a</id>'
            f"<updated>{iso(now)}</updated></entry></feed>"
        ),
        content_type="application/atom+xml",
    )
    site.add(
        "/cut.xml",
        (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{in_cut}</loc><lastmod>{iso(now)}</lastmod></url>"
            f"<url><loc>{site.url('/2026/page_')}"
        ),
        content_type="application/xml",
    )
    config = make_config(
        [{"name": "forms", "kind": "sitemap", "url": site.url("/robots.txt")}], TOPICS
    )
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "forms: ok, 4 entries, 4 new" in result.stdout, result.stdout
    exported = run_cli("export", "--config", str(config), "--format", "jsonl").stdout
    urls = sorted(json.loads(line)["url"] for line in exported.splitlines())
    assert urls == sorted([site.url("/2026/actualit%C3%A9-ia"), in_rss, in_atom, in_cut])
    assert not any(path.startswith("/2026/page_") for path in site.hits)
    listed = run_cli("sources", "list", "--config", str(config)).stdout
    assert "no colon after 'Sitemap'" in listed  # said, not silently dropped


def test_sitemap_source_whose_sitemaps_cannot_be_read_fails(site, make_config) -> None:
    """0 entries because no child sitemap could be read is a failed pass, not "ok, 0
    entries": the source shows as failing in the summary and in `sources list`."""
    site.add("/robots.txt", f"Sitemap: {site.url('/index.xml')}\n", content_type="text/plain")
    site.add(
        "/index.xml",
        (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{site.url('/gone.xml')}</loc></sitemap>"
            f"<sitemap><loc>{site.url('/login.xml')}</loc></sitemap></sitemapindex>"
        ),
        content_type="application/xml",
    )
    site.add("/gone.xml", "not here", status=404, content_type="text/plain")
    site.add("/login.xml", "<!DOCTYPE html><html><body>Please log in</body></html>")
    config = make_config(
        [{"name": "unreadable", "kind": "sitemap", "url": site.url("/robots.txt")}], TOPICS
    )
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "Sources: 0 ok, 0 degraded, 1 failed" in result.stdout, result.stdout
    assert "unreadable: failed: 0 entries: 2 sitemap(s) could not be read" in result.stdout
    listed = run_cli("sources", "list", "--config", str(config)).stdout
    assert "error" in listed and "could not be read" in listed, listed


def test_listing_outlet(site, make_config) -> None:
    first = [site.add(f"/2026/11/27/pentagon-story-number-{n}", story(n)) for n in range(2)]
    second = [site.add(f"/2026/11/26/defense-story-number-{n}", story(10 + n)) for n in range(2)]
    third = site.add("/2026/11/25/third-page-story-here", story(20))
    chrome = (
        '<header><nav><a href="/">Home</a> <a href="/about">About us</a> '
        '<a href="/subscribe">Subscribe now</a> <a href="/tag/artificial-intelligence">AI'
        "</a></nav></header>"
    )

    def listing(links: list[str], next_page: str | None) -> str:
        items = "".join(
            f'<article><h2><a href="{url}">Story</a></h2>'
            f'<a rel="author" href="/author/jane-porter-smith">Jane</a></article>'
            for url in links
        )
        pager = f'<a rel="next" href="{next_page}">Next page</a>' if next_page else ""
        return (
            f"<html><body>{chrome}<main>{items}</main>{pager}<footer>"
            '<a href="/privacy-policy-and-cookies">Privacy</a></footer></body></html>'
        )

    site.add("/news", listing(first, "/news?page=2"))
    site.add("/news?page=2", listing(second, "/news?page=3"))
    site.add("/news?page=3", listing([third], None))
    config = make_config(
        [{"name": "wire-front", "kind": "listing", "url": site.url("/news"), "pages": 2}], TOPICS
    )
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "wire-front: ok, 4 entries, 4 new" in result.stdout, result.stdout
    exported = run_cli("export", "--config", str(config), "--format", "jsonl").stdout
    urls = sorted(json.loads(line)["url"] for line in exported.splitlines())
    assert urls == sorted(first + second)
    assert "/news?page=3" not in site.hits  # pages: 2
    not_articles = [
        "/about",
        "/subscribe",
        "/tag/artificial-intelligence",
        "/author/jane-porter-smith",
        "/privacy-policy-and-cookies",
    ]
    for path in not_articles:
        assert path not in site.hits, path
