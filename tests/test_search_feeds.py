"""Search-engine news feeds end to end: a Google-News-shaped and a Bing-News-shaped feed on
127.0.0.1 lead to the publishers' own articles (decoded offline, found in the publisher's news
sitemap or feed, or asked of a local stand-in for Google's endpoint); what cannot be reached
becomes a headline-only item; `sources status` says how each entry went."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, quote

from sqlalchemy import create_engine, text

from crawler.store.owed import OwedLink, OwedLinks
from crawler.text.urls import canonicalize
from tests.conftest import REPO, run_cli
from tests.outlets import corpus_page, refused_port
from tests.sites import Site

NEWS_NS = (
    'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
    'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
)


def google_id(url: str) -> str:
    """An id as Google News writes them: field 1 = 19, field 4 = the URL, base64url."""
    data = url.encode()
    length = (
        bytes([len(data)]) if len(data) < 128 else bytes([len(data) & 0x7F | 0x80, len(data) >> 7])
    )
    return base64.urlsafe_b64encode(b"\x08\x13\x22" + length + data).decode().rstrip("=")


def new_style_id(n: int) -> str:
    """A new-style id: field 4 holds an opaque token, not a URL."""
    token = f"AU_yqLNtoken{n:04d}xxxxxxxxxxxxxxxxxxxx".encode()
    return (
        base64.urlsafe_b64encode(b"\x08\x13\x22" + bytes([len(token)]) + token).decode().rstrip("=")
    )


def google_feed(google: Site, entries: list[tuple[str, str, str | None, str | None]]) -> str:
    """(title, id, publisher name, publisher URL) as Google News's RSS gives them."""
    items = []
    for title, article_id, name, home in entries:
        link = google.url(f"/rss/articles/{article_id}?oc=5")
        source = f'<source url="{home}">{name}</source>' if home else ""
        shown = f"{title} - {name}" if name else title
        items.append(
            f"<item><title>{shown}</title><link>{link}</link>"
            f'<guid isPermaLink="false">{article_id}</guid>'
            f"<pubDate>{datetime.now(UTC):%a, %d %b %Y %H:%M:%S} GMT</pubDate>"
            f"<description>&lt;a href=&quot;{link}&quot;&gt;{title}&lt;/a&gt;&amp;nbsp;"
            f"&lt;font color=&quot;#6f6f6f&quot;&gt;{name}&lt;/font&gt;</description>"
            f"{source}</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><rss version="2.0" '
        'xmlns:media="http://search.yahoo.com/mrss/"><channel><generator>NFE/5.0</generator>'
        '<title>"military AI" - Google News</title><link>https://news.google.com/search</link>'
        f"<language>en-US</language>{''.join(items)}</channel></rss>"
    )


def bing_feed(bing: Site, entries: list[tuple[str, str, str]]) -> str:
    """(title, publisher URL, publisher name) as Bing News's RSS gives them."""
    items = "".join(
        f"<item><title>{title}</title><link>"
        + bing.url(
            "/news/apiclick.aspx?ref=FexRss&amp;aid=&amp;tid=6752D1A8B3F0&amp;url="
            + quote(url, safe="").lower()
            + "&amp;c=8120937513&amp;mkt=en-us"
        )
        + f"</link><description>{title}, says the report.</description>"
        f"<pubDate>{datetime.now(UTC):%a, %d %b %Y %H:%M:%S} GMT</pubDate>"
        f"<News:Source>{name}</News:Source></item>"
        for title, url, name in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8" ?><rss version="2.0" '
        'xmlns:News="https://www.bing.com:443/news/search?q=Pentagon&amp;format=rss">'
        "<channel><title>Pentagon AI - Bing News</title>"
        f"<link>https://www.bing.com/news/search?q=Pentagon</link>{items}</channel></rss>"
    )


def rss(items: list[tuple[str, str]]) -> str:
    entries = "".join(f"<item><title>{t}</title><link>{link}</link></item>" for t, link in items)
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Own</title>{entries}'
        "</channel></rss>"
    )


class Publishers:
    """Three local publishers: A has a news sitemap (named by robots.txt, through an index)
    and a feed; B only a feed, declared on its home page; C neither."""

    def __init__(self, make_site) -> None:
        self.a, self.b, self.c = make_site(), make_site(), make_site()
        self.pages = 0

    def article(self, site: Site, path: str) -> str:
        _, html = corpus_page("en", self.pages)
        self.pages += 1
        return site.add(path, html)


def build(make_site):
    google, bing = make_site(), make_site()
    pubs = Publishers(make_site)
    a, b, c = pubs.a, pubs.b, pubs.c
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    decoded = pubs.article(a, "/2026/12/decoded-story")
    in_sitemap = pubs.article(a, "/2026/12/pentagon-ai-targeting")
    near_title = pubs.article(a, "/2026/12/drone-swarm-trial")
    in_a_feed = pubs.article(a, "/2026/12/ai-procurement")
    in_b_feed = pubs.article(b, "/news/army-ai-lab")
    bing_article = pubs.article(b, "/news/bing-story")
    a.add(
        "/robots.txt",
        f"User-agent: *\nAllow: /\nSitemap: {a.url('/sitemap_index.xml')}\n",
        content_type="text/plain",
    )
    a.add(
        "/sitemap_index.xml",
        f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{a.url('/news-sitemap.xml')}</loc><lastmod>{now}</lastmod></sitemap>"
        "</sitemapindex>",
        content_type="application/xml",
    )
    news = "".join(
        f"<url><loc>{loc}</loc><news:news><news:publication><news:name>Publisher A</news:name>"
        f"<news:language>en</news:language></news:publication>"
        f"<news:publication_date>{now}</news:publication_date>"
        f"<news:title>{title}</news:title></news:news></url>"
        for loc, title in (
            (in_sitemap, "Pentagon expands use of AI in targeting decisions"),
            (near_title, "Army trials a drone swarm over the Baltic, with AI at the controls"),
        )
    )
    a.add(
        "/news-sitemap.xml",
        f'<?xml version="1.0"?><urlset {NEWS_NS}>{news}</urlset>',
        content_type="application/xml",
    )
    a.add(
        "/",
        '<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml">'
        "</head><body>Publisher A</body></html>",
    )
    a.add(
        "/feed.xml",
        rss(
            [
                ("How the Pentagon buys AI now", in_a_feed),
                ("Pentagon expands use of AI in targeting decisions", in_sitemap),
            ]
        ),
        content_type="application/rss+xml",
    )
    b.add(
        "/",
        '<html><head><link rel="alternate" type="application/atom+xml" title="News" '
        'href="/news.rss"></head><body>B</body></html>',
    )
    b.add(
        "/news.rss",
        rss([("Inside the Army's new AI lab", in_b_feed)]),
        content_type="application/rss+xml",
    )
    c.add("/", "<html><head><title>C</title></head><body>No feed here.</body></html>")

    entries = [
        ("Decoded story about AI", google_id(decoded), "Publisher A", a.base),
        (
            "Pentagon expands use of AI in targeting decisions",
            new_style_id(1),
            "Publisher A",
            a.base,
        ),
        # Slightly different: case, punctuation, a word dropped.
        (
            "ARMY TRIALS DRONE SWARM OVER THE BALTIC — WITH AI AT THE CONTROLS",
            new_style_id(2),
            "Publisher A",
            a.base,
        ),
        ("How the Pentagon buys AI now", new_style_id(3), "Publisher A", a.base + "/"),
        ("Inside the Army’s new AI lab", new_style_id(4), "Publisher B", b.base),
        ("Paywalled scoop on military AI", new_style_id(5), "Publisher C", c.base),
        ("Wire story on AI weapons", new_style_id(6), None, None),
        # A publisher whose site does not answer (nothing listens on the port).
        (
            "Scoop from a site that is down",
            new_style_id(10),
            "Publisher D",
            f"http://127.0.0.1:{refused_port()}",
        ),
    ]
    google.add("/rss/search", google_feed(google, entries), content_type="application/rss+xml")
    bing.add(
        "/news/search",
        bing_feed(
            bing,
            [
                (
                    "Pentagon AI office grows",
                    bing_article + "?utm_source=bing&utm_medium=news",
                    "Publisher B",
                ),
            ],
        ),
        content_type="application/rss+xml",
    )
    expected = {
        "decoded": decoded,
        "sitemap": in_sitemap,
        "near": near_title,
        "a_feed": in_a_feed,
        "b_feed": in_b_feed,
        "bing": bing_article,
    }
    return google, bing, pubs, expected


def collect(config: Path, tmp_path: Path, name: str = "items.jsonl") -> list[dict]:
    out = tmp_path / name
    done = subprocess.run(
        [sys.executable, "-m", "tests.collect_crawl", str(config), str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def stored(database: str) -> dict[str, list[str]]:
    """Stored articles: URL -> the other URLs that led to it."""
    engine = create_engine(database)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT a.url, u.url FROM articles a JOIN article_urls u ON u.article_id = a.id")
        ).all()
    engine.dispose()
    found: dict[str, list[str]] = {}
    for url, alias in rows:
        found.setdefault(url, [])
        if alias != url:
            found[url].append(alias)
    return found


def test_search_feeds_lead_to_the_publishers_articles(site_factory, make_config, tmp_path) -> None:
    google, bing, pubs, expected = build(site_factory)
    config = make_config(
        [
            {"name": "gnews", "url": google.url("/rss/search"), "language": "en"},
            {"name": "bing", "url": bing.url("/news/search"), "language": "en"},
            # Publisher A's own feed lists the sitemap story too: one article, its URL.
            {"name": "publisher-a", "url": pubs.a.url("/feed.xml"), "language": "en"},
        ],
        google_news_hosts=f"news.google.com, 127.0.0.1:{google.server.server_address[1]}",
        extract_workers=0,
    )
    database = f"sqlite:///{tmp_path / 'newsmon.db'}"
    items = collect(config, tmp_path)
    by_url = {item["url"]: item for item in items}

    # Resolved entries became the publishers' pages, the search link kept as an alias.
    for key in ("decoded", "near", "b_feed", "bing"):
        item = by_url[expected[key]]
        assert item["html"] and item["text_source"] == "page", key
        assert item["seen_urls"] and item["seen_urls"][0].startswith(
            google.base if key != "bing" else bing.base
        ), key
    assert by_url[expected["bing"]]["publisher"] == "Publisher B"
    assert by_url[expected["decoded"]]["publisher"] == "Publisher A"
    assert by_url[expected["decoded"]]["feed_title"] == "Decoded story about AI"  # suffix gone
    # Found through the outlet's own feed and through the search feed: requested once.
    assert sum(item["url"] == expected["sitemap"] for item in items) == 1
    assert sum(item["url"] == expected["a_feed"] for item in items) == 1

    # The three that did not resolve: headline-only items with the Google link.
    headlines = [item for item in items if item["text_source"] == "feed"]
    assert sorted(item["feed_title"] for item in headlines) == [
        "Paywalled scoop on military AI",
        "Scoop from a site that is down",
        "Wire story on AI weapons",
    ]
    for item in headlines:
        assert not item["html"]
        assert item["url"].startswith(google.url("/rss/articles/"))
        assert item["feed_summary"]
    assert {item["publisher"] for item in headlines} == {"Publisher C", "Publisher D", None}
    assert len(items) == 9

    # One look per publisher: its news sitemap and its feed fetched once for several entries.
    assert pubs.a.hits["/news-sitemap.xml"] == 1
    assert pubs.b.hits["/news.rss"] == 1
    assert pubs.c.hits["/"] == 1

    articles = stored(database)
    for key in ("decoded", "sitemap", "near", "a_feed", "b_feed", "bing"):
        assert expected[key] in articles, key  # the publisher's canonical URL, utm_* gone
    # The three unresolved entries are kept too, as headline-only articles under their link.
    assert len(articles) == 9
    for item in headlines:
        assert canonicalize(item["url"]) in articles
    bing_alias = articles[expected["bing"]][0]
    assert bing_alias.startswith(bing.url("/news/apiclick.aspx"))

    status = run_cli("sources", "status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    gnews = status.stdout.split("gnews", 1)[1].split("\nbing", 1)[0]
    assert "5 resolved to the publisher's article" in gnews
    assert "2 from the publisher's sitemap" in gnews
    assert "1 decoded from Google's id" in gnews
    assert "2 from the publisher's feed" in gnews
    assert (
        "3 headline-only (1 no matching title on the publisher's site, 1 no publisher named, "
        "1 publisher's site unreachable)" in gnews
    )
    bing_status = status.stdout.split("\nbing", 1)[1].split("\npublisher-a", 1)[0]
    assert (
        "1 resolved to the publisher's article (1 from Bing's link), 0 headline-only" in bing_status
    )

    # The next pass (the feed changed, same entries): nothing is looked up or fetched again;
    # a headline-only article still owed (its store failed, say) comes back as a headline,
    # its Google page never fetched.
    google.pages["/rss/search"].body += b"<!-- changed -->"
    owed_link = google.url(f"/rss/articles/{new_style_id(99)}")
    engine = create_engine(database)
    OwedLinks(engine).attempt(
        [OwedLink(owed_link, "gnews", "Owed headline", None, "en")], datetime.now(UTC)
    )
    engine.dispose()
    again = collect(config, tmp_path, "again.jsonl")
    assert [(item["url"], item["feed_title"], item["text_source"]) for item in again] == [
        (owed_link, "Owed headline", "feed")
    ]
    assert pubs.a.hits["/news-sitemap.xml"] == 1
    assert f"/rss/articles/{new_style_id(99)}" not in google.hits


def test_google_endpoint_when_enabled(site_factory, make_config, tmp_path) -> None:
    google, publisher = site_factory(), site_factory()
    _, html = corpus_page("en", 40)
    article = publisher.add("/2026/12/endpoint-story", html)
    publisher.add("/", "<html><body>No feed, no sitemap.</body></html>")
    ids = [new_style_id(7), new_style_id(8)]
    google.add(
        "/rss/search",
        google_feed(
            google,
            [
                ("Story only Google knows", ids[0], "Publisher", publisher.base),
                ("Story whose page changed", ids[1], "Publisher", publisher.base),
            ],
        ),
        content_type="application/rss+xml",
    )
    # Shaped as news.google.com's article page and batchexecute answer (constructed, see
    # docs/sources.md): the page carries the signature and timestamp the request needs.
    google.add(
        f"/rss/articles/{ids[0]}?oc=5",
        f'<html><body><c-wiz><div jscontroller="aLI87" data-n-a-sg="SIG7" '
        f'data-n-a-ts="1764758400" data-n-a-id="{ids[0]}"></div></c-wiz></body></html>',
    )
    google.add(f"/rss/articles/{ids[1]}?oc=5", "<html><body>Before you continue</body></html>")
    rows = [
        ["wrb.fr", "Fbv4je", json.dumps(["garturlres", article, 1]), None, None, None, "generic"],
        ["di", 31],
    ]
    google.add(
        "/_/DotsSplashUi/data/batchexecute",
        ")]}'\n\n" + json.dumps(rows),
        content_type="application/json; charset=utf-8",
    )
    port = google.server.server_address[1]
    config = make_config(
        [{"name": "gnews", "url": google.url("/rss/search"), "language": "en"}],
        google_news_hosts=f"127.0.0.1:{port}",
        google_news_decode=True,
        extract_workers=0,
    )
    items = collect(config, tmp_path)
    posted = [parse_qs(body.decode())["f.req"][0] for path, body in google.posts]
    assert len(posted) == 1  # the page without parameters (a consent page) asked nothing
    assert any(ids[0] in request and "SIG7" in request for request in posted)
    resolved = [item for item in items if item["text_source"] == "page"]
    assert [item["url"] for item in resolved] == [article]
    assert resolved[0]["seen_urls"] == [google.url(f"/rss/articles/{ids[0]}?oc=5")]
    headlines = [item for item in items if item["text_source"] == "feed"]
    assert [item["feed_title"] for item in headlines] == ["Story whose page changed"]
    status = run_cli("sources", "status", "--config", str(config))
    assert (
        "1 resolved to the publisher's article (1 from Google's endpoint), 1 headline-only "
        "(1 Google's endpoint: no decoding parameters)"
    ) in status.stdout
