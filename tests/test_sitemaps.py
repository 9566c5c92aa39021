"""crawler.sources.sitemaps: news sitemaps, indexes, gzip, robots.txt, recency, walks that must end.

Realistic files are in tests/data/sitemaps/; bodies about one rule are written inline.
"""

from __future__ import annotations

import gzip
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.sources.sitemaps import (
    MAX_SITEMAP_BYTES,
    Sitemap,
    SitemapEntry,
    SitemapError,
    SitemapWalk,
    parse_sitemap,
    recent,
    recent_sitemaps,
    sitemaps_from_robots,
)

DATA = Path(__file__).parent / "data" / "sitemaps"
SITE = "https://www.defense-news.example"
NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)


def urlset(*urls: str, extra: str = "") -> bytes:
    body = "".join(f"<url><loc>{url}</loc></url>" for url in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{extra}>{body}</urlset>'
    ).encode()


def index(*urls: str) -> bytes:
    body = "".join(f"<sitemap><loc>{url}</loc></sitemap>" for url in urls)
    return (
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</sitemapindex>'
    ).encode()


def locs(sitemap: Sitemap) -> list[str]:
    return [entry.loc for entry in sitemap.entries]


# --- news sitemaps ---


def test_news_sitemap_keeps_publication_date_title_and_language() -> None:
    sitemap = parse_sitemap((DATA / "news-sitemap.xml").read_bytes(), f"{SITE}/news-sitemap.xml")
    assert sitemap.kind == "urlset"
    assert sitemap.problem is None and not sitemap.truncated
    assert sitemap.sitemaps == []
    assert sitemap.entries == [
        SitemapEntry(
            loc=f"{SITE}/2026/11/26/pentagon-ai-targeting-contract/",
            lastmod=datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
            news_title="Pentagon awards AI targeting contract & sets new rules",
            news_publication_date=datetime(2026, 11, 26, 14, 15, tzinfo=UTC),
            language="en",
        ),
        SitemapEntry(
            loc=f"{SITE}/2026/11/25/otan-intelligence-artificielle/",
            lastmod=None,
            news_title="L'OTAN et l'« intelligence artificielle » : une doctrine",
            news_publication_date=datetime(2026, 11, 25, tzinfo=UTC),
            language="fr",
        ),
        SitemapEntry(
            loc=f"{SITE}/2026/11/20/bundeswehr-ki-strategie/",
            lastmod=None,
            news_title="Bundeswehr legt KI-Strategie vor",
            news_publication_date=datetime(2026, 11, 20, 7, 0, tzinfo=UTC),
            language="de",
        ),
        SitemapEntry(
            loc=f"{SITE}/2026/11/26/no-date-given/",
            lastmod=None,
            news_title="An entry without a publication date",
            news_publication_date=None,
            language="en",
        ),
    ]
    assert sitemap.entries[0].date == sitemap.entries[0].news_publication_date
    # image:loc and xhtml:link hrefs are other namespaces' noise, never entries
    assert not any("cdn." in loc or "fr." in loc for loc in locs(sitemap))


def test_news_elements_in_a_plain_urlset_without_the_news_namespace_are_still_read() -> None:
    body = urlset(
        "http://blog.example/a-post",
        extra=' xmlns:n="http://www.google.com/schemas/sitemap-news/0.84"',
    ).replace(
        b"</loc></url>",
        b"</loc><n:news><n:publication_date>2026-11-26T10:00:00+01:00</n:publication_date>"
        b"<n:title>Old namespace version</n:title></n:news></url>",
    )
    (entry,) = parse_sitemap(body, "http://blog.example/sitemap.xml").entries
    assert entry.news_title == "Old namespace version"
    assert entry.news_publication_date == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


# --- indexes ---


def test_sitemap_index_lists_children_with_their_lastmod() -> None:
    sitemap = parse_sitemap((DATA / "index.xml").read_bytes(), f"{SITE}/sitemap_index.xml")
    assert sitemap.kind == "index"
    assert sitemap.entries == []
    assert sitemap.sitemaps == [
        f"{SITE}/sitemaps/2024-01.xml",
        f"{SITE}/sitemaps/2026-10.xml",
        f"{SITE}/sitemaps/2026-11.xml",
        f"{SITE}/news-sitemap.xml",  # relative loc resolved
        f"{SITE}/sitemaps/pages.xml.gz",
        # the ftp:// child is dropped
    ]
    assert sitemap.sitemap_lastmod[f"{SITE}/sitemaps/2026-11.xml"] == datetime(
        2026, 11, 26, 12, 0, tzinfo=UTC
    )
    assert f"{SITE}/sitemaps/pages.xml.gz" not in sitemap.sitemap_lastmod


def test_recent_sitemaps_skips_old_archives_and_puts_the_newest_first() -> None:
    sitemap = parse_sitemap((DATA / "index.xml").read_bytes(), f"{SITE}/sitemap_index.xml")
    assert recent_sitemaps(sitemap, timedelta(days=2), NOW) == [
        f"{SITE}/news-sitemap.xml",
        f"{SITE}/sitemaps/2026-11.xml",
        f"{SITE}/sitemaps/pages.xml.gz",  # no lastmod: cannot be judged, comes last
    ]
    assert recent_sitemaps(sitemap, timedelta(days=40), NOW)[:3] == [
        f"{SITE}/news-sitemap.xml",
        f"{SITE}/sitemaps/2026-11.xml",
        f"{SITE}/sitemaps/2026-10.xml",
    ]


def test_walk_ends_an_index_that_lists_itself() -> None:
    url = f"{SITE}/sitemap_index.xml"
    walk = SitemapWalk()
    assert walk.start(url)
    sitemap = parse_sitemap(index(url, f"{SITE}/a.xml", f"{SITE}/a.xml#again"), url)
    assert walk.children(url, sitemap.sitemaps) == [f"{SITE}/a.xml"]
    assert walk.problems == [f"sitemap index {url} lists itself: ignored"]
    # The spider fetches the index again through another path: nothing new.
    assert walk.children(url, sitemap.sitemaps) == []
    assert walk.fetched == 2


def test_walk_ends_a_loop_between_indexes() -> None:
    a, b, c = (f"{SITE}/{name}.xml" for name in "abc")
    walk = SitemapWalk()
    walk.start(a)
    assert walk.children(a, [b]) == [b]
    assert walk.children(b, [c]) == [c]
    assert walk.children(c, [a, b, f"{SITE}/leaf.xml"]) == [f"{SITE}/leaf.xml"]
    assert walk.problems == [
        f"sitemap loop: {c} lists its ancestor {a}: ignored",
        f"sitemap loop: {c} lists its ancestor {b}: ignored",
    ]
    assert not walk.truncated


def test_walk_compares_urls_in_canonical_form() -> None:
    walk = SitemapWalk()
    walk.start("https://WWW.Defense-News.example:443/s.xml?utm_source=x")
    assert (
        walk.children(f"{SITE}/s.xml", [f"{SITE}/s.xml", "HTTPS://www.defense-news.example/s.xml"])
        == []
    )
    assert walk.start(f"{SITE}/s.xml") is False
    assert walk.start("ftp://example.com/s.xml") is False


def test_walk_caps_depth_and_count() -> None:
    walk = SitemapWalk(max_depth=2, max_sitemaps=5)
    walk.start(f"{SITE}/0.xml")
    assert walk.children(f"{SITE}/0.xml", [f"{SITE}/1.xml"]) == [f"{SITE}/1.xml"]
    assert walk.children(f"{SITE}/1.xml", [f"{SITE}/2.xml"]) == [f"{SITE}/2.xml"]
    assert walk.children(f"{SITE}/2.xml", [f"{SITE}/3.xml"]) == []
    assert walk.truncated
    assert walk.problems[-1] == f"sitemap {SITE}/3.xml is nested deeper than 2: ignored"

    many = [f"{SITE}/child-{i}.xml" for i in range(10)]
    assert walk.children(f"{SITE}/0.xml", many) == many[:2]
    assert walk.problems[-1] == "sitemap cap of 5 per pass reached: 8 not fetched"
    assert walk.start(f"{SITE}/another-root.xml") is False
    assert walk.fetched == 5


def test_walk_registers_an_unknown_parent_as_a_root() -> None:
    walk = SitemapWalk(max_depth=1)
    assert walk.children(f"{SITE}/redirected.xml", [f"{SITE}/x.xml"]) == [f"{SITE}/x.xml"]
    assert walk.children(f"{SITE}/x.xml", [f"{SITE}/y.xml"]) == []


def test_walk_problem_list_is_bounded() -> None:
    walk = SitemapWalk()
    walk.start(f"{SITE}/s.xml")
    for _ in range(500):
        walk.children(f"{SITE}/s.xml", [f"{SITE}/s.xml"])
    assert len(walk.problems) == 100


# --- gzip ---


def test_gzipped_sitemap_is_decompressed_whatever_its_url() -> None:
    plain = (DATA / "news-sitemap.xml").read_bytes()
    expected = parse_sitemap(plain, f"{SITE}/news-sitemap.xml")
    assert parse_sitemap(gzip.compress(plain), f"{SITE}/news-sitemap.xml") == expected
    assert parse_sitemap(gzip.compress(plain), f"{SITE}/news-sitemap.xml.gz") == expected


def test_concatenated_gzip_members_are_all_read() -> None:
    body = urlset("http://a.example/1", "http://a.example/2")
    middle = len(body) // 2
    two_members = gzip.compress(body[:middle]) + gzip.compress(body[middle:])
    assert locs(parse_sitemap(two_members, "http://a.example/s.xml.gz")) == [
        "http://a.example/1",
        "http://a.example/2",
    ]


def test_truncated_gzip_yields_what_arrived_and_says_so() -> None:
    body = urlset(*(f"http://a.example/story-{i}" for i in range(2000)))
    packed = gzip.compress(body)
    sitemap = parse_sitemap(packed[: len(packed) // 2], "http://a.example/s.xml.gz")
    assert 0 < len(sitemap.entries) < 2000
    assert sitemap.problem is not None and "gzip data cut short" in sitemap.problem


def test_unreadable_gzip_is_not_a_sitemap() -> None:
    with pytest.raises(SitemapError, match="not a sitemap: unreadable gzip data"):
        parse_sitemap(b"\x1f\x8b\x08\x00garbage-garbage-garbage", "http://a.example/s.xml.gz")
    with pytest.raises(SitemapError, match="cut short before any content"):
        parse_sitemap(gzip.compress(b"<urlset/>")[:10], "http://a.example/s.xml.gz")


def test_gzip_bomb_is_capped_and_reported() -> None:
    # 60 MB of whitespace after the first entries: about 60 kB compressed.
    head = urlset("http://a.example/1", "http://a.example/2").replace(b"</urlset>", b"")
    bomb = gzip.compress(head + b" " * (60 * 1024 * 1024) + b"</urlset>", compresslevel=1)
    assert len(bomb) < 1_000_000
    started = time.perf_counter()
    sitemap = parse_sitemap(bomb, "http://a.example/s.xml.gz")
    assert time.perf_counter() - started < 10
    assert sitemap.truncated
    assert sitemap.problem is not None
    assert sitemap.problem.startswith(f"decompresses to more than {MAX_SITEMAP_BYTES} bytes")
    assert locs(sitemap) == ["http://a.example/1", "http://a.example/2"]


def test_size_cap_is_configurable_for_plain_and_gzipped_bodies() -> None:
    body = urlset(*(f"http://a.example/story-{i}" for i in range(1000)))
    for packed in (body, gzip.compress(body)):
        sitemap = parse_sitemap(packed, "http://a.example/s.xml", max_bytes=10_000)
        assert sitemap.truncated
        assert sitemap.problem is not None and "10000 bytes" in sitemap.problem
        assert 0 < len(sitemap.entries) < 1000


# --- caps, links, dates ---


def test_max_urls_caps_entries_and_says_so() -> None:
    body = urlset(*(f"http://a.example/{i}" for i in range(10)))
    sitemap = parse_sitemap(body, "http://a.example/s.xml", max_urls=3)
    assert locs(sitemap) == ["http://a.example/0", "http://a.example/1", "http://a.example/2"]
    assert sitemap.truncated
    exactly = parse_sitemap(body, "http://a.example/s.xml", max_urls=10)
    assert len(exactly.entries) == 10 and not exactly.truncated


@pytest.mark.slow
def test_protocol_sized_sitemap_parses_in_reasonable_time() -> None:
    count = 50_001
    body = urlset(*(f"https://a.example/2026/11/26/story-number-{i}" for i in range(count)))
    started = time.perf_counter()
    sitemap = parse_sitemap(body, "https://a.example/s.xml")
    assert time.perf_counter() - started < 20
    assert len(sitemap.entries) == 50_000 and sitemap.truncated


def test_locs_are_resolved_filtered_and_deduplicated() -> None:
    body = urlset(
        "  /relative/story  ",
        "https://a.example/x?a=1&amp;b=2",
        "javascript:alert(1)",
        "mailto:someone@a.example",
        "",
        "http://[::1",
        "https://a.example/x?a=1&amp;b=2",
        "//cdn.a.example/protocol-relative",
    )
    assert locs(parse_sitemap(body, "https://a.example/sitemaps/s.xml")) == [
        "https://a.example/relative/story",
        "https://a.example/x?a=1&b=2",
        "https://cdn.a.example/protocol-relative",
    ]


@pytest.mark.parametrize(
    ("lastmod", "expected"),
    [
        ("2026-11-26", datetime(2026, 11, 26, tzinfo=UTC)),
        ("2026-11-26T14:30:00+02:00", datetime(2026, 11, 26, 12, 30, tzinfo=UTC)),
        ("2026-11-26T14:30Z", datetime(2026, 11, 26, 14, 30, tzinfo=UTC)),
        ("2026-11-26T14:30:00.123456789Z", datetime(2026, 11, 26, 14, 30, 0, 123456, tzinfo=UTC)),
        ("2026-11-26t14:30:00z", datetime(2026, 11, 26, 14, 30, tzinfo=UTC)),
        ("2026-11-26 14:30:00", datetime(2026, 11, 26, 14, 30, tzinfo=UTC)),  # no zone: UTC
        ("2026-11-26T14:30:00+0530", datetime(2026, 11, 26, 9, 0, tzinfo=UTC)),
        ("2026-11", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026", datetime(2026, 1, 1, tzinfo=UTC)),
        ("Thu, 26 Nov 2026 14:30:00 GMT", datetime(2026, 11, 26, 14, 30, tzinfo=UTC)),
        ("  2026-11-26  ", datetime(2026, 11, 26, tzinfo=UTC)),
        ("1970-01-01T00:00:00Z", None),  # epoch zero: a CMS default, not a date
        ("2026-13-45", None),
        ("yesterday", None),
        ("", None),
        ("9" * 500, None),
    ],
)
def test_lastmod_formats(lastmod: str, expected: datetime | None) -> None:
    body = urlset("http://a.example/x").replace(
        b"</loc>", f"</loc><lastmod>{lastmod}</lastmod>".encode()
    )
    (entry,) = parse_sitemap(body, "http://a.example/s.xml").entries
    assert entry.lastmod == expected
    assert entry.lastmod is None or entry.lastmod.tzinfo is UTC


def test_sitemap_without_namespace_in_a_declared_encoding() -> None:
    body = (
        "<?xml version='1.0' encoding='iso-8859-1'?>"
        "<urlset><url><loc>http://a.example/caf\xe9</loc></url></urlset>"
    )
    sitemap = parse_sitemap(body.encode("iso-8859-1"), "http://a.example/")
    assert locs(sitemap) == ["http://a.example/café"]


def test_sitemap_with_a_utf8_bom() -> None:
    body = b"\xef\xbb\xbf" + urlset("http://a.example/caf\u00e9")
    assert locs(parse_sitemap(body, "http://a.example/")) == ["http://a.example/café"]


def test_empty_urlset_is_a_sitemap_with_no_entries() -> None:
    sitemap = parse_sitemap(urlset(), "http://a.example/s.xml")
    assert sitemap == Sitemap(kind="urlset")


# --- malformed and hostile bodies ---


def test_malformed_sitemap_is_recovered_and_the_problem_reported() -> None:
    sitemap = parse_sitemap((DATA / "malformed.xml").read_bytes(), "https://blog.example/s.xml")
    assert sitemap.kind == "urlset"
    assert sitemap.problem is not None
    assert sitemap.problem.startswith("malformed XML: Namespace prefix news on news is not defined")
    entries = {entry.loc: entry for entry in sitemap.entries}
    assert set(entries) == {
        "https://blog.example/2026/11/first-post-about-drones",
        "https://blog.example/2026/11/second-post?a=1=2",  # libxml2 dropped the bare "&b"
        "https://blog.example/2026/11/third-post-cut-short",
        "https://blog.example/2026/11/fourth-post",
    }
    first = entries["https://blog.example/2026/11/first-post-about-drones"]
    assert first.news_title == "The prefix news: is never declared"  # undeclared prefix still read
    assert first.news_publication_date == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    assert entries["https://blog.example/2026/11/third-post-cut-short"].lastmod == datetime(
        2026, 11, 24, 10, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not a sitemap: empty body"),
        (b"  \n\t ", "not a sitemap: empty body"),
        (b"User-agent: *\nDisallow: /", "not a sitemap: neither XML nor a list of URLs"),
        (b"Sitemap: http://a.example/s.xml", "not a sitemap: neither XML nor a list of URLs"),
        (b"\x00\x01\x02garbage", "not a sitemap: no XML element found"),
        (b"<!DOCTYPE html><html><body><p>Hello</p></body></html>", "looks like an HTML page"),
        (b"<html><head><title>404</title></head></html>", "looks like an HTML page"),
        (b"<note><to>Tove</to></note>", "root element <note>"),
        (b"<rss version='2.0'><channel><title>T</title>", "feed given as a sitemap: not a feed"),
    ],
)
def test_not_a_sitemap(body: bytes, message: str) -> None:
    with pytest.raises(SitemapError, match=message):
        parse_sitemap(body, "http://a.example/sitemap.xml")


def test_external_entities_are_never_fetched() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>http://a.example/&xxe;</loc></url>"
        b"<url><loc>http://a.example/plain</loc></url></urlset>"
    )
    sitemap = parse_sitemap(body, "http://a.example/s.xml")
    assert "http://a.example/plain" in locs(sitemap)
    assert all("root:" not in loc for loc in locs(sitemap))


def test_billion_laughs_are_never_expanded() -> None:
    laughs = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
    body = (
        '<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY e0 "lol">' + laughs + "]>"
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>http://a.example/first</loc></url>"
        "<url><loc>http://a.example/&e9;</loc></url></urlset>"
    ).encode()
    started = time.perf_counter()
    sitemap = parse_sitemap(body, "http://a.example/s.xml")
    assert time.perf_counter() - started < 2
    assert locs(sitemap)[0] == "http://a.example/first"
    assert all("lollol" not in loc for loc in locs(sitemap))
    # libxml2 refuses the amplification and stops there; the pass goes on with what it read.
    assert sitemap.problem is not None and sitemap.problem.startswith("malformed XML")


def test_sitemap_elements_of_other_namespaces_are_ignored() -> None:
    body = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        b' xmlns:x="http://other.example/ns">'
        b"<x:url><loc>http://a.example/other-namespace</loc></x:url>"
        b"<url><x:loc>http://a.example/other-loc</x:loc><loc>http://a.example/real</loc></url>"
        b"</urlset>"
    )
    assert locs(parse_sitemap(body, "http://a.example/s.xml")) == ["http://a.example/real"]


# --- robots.txt ---


def test_sitemaps_from_robots() -> None:
    robots = (DATA / "robots.txt").read_bytes()
    expected = [
        f"{SITE}/news-sitemap.xml",
        f"{SITE}/sitemap_index.xml",
        f"{SITE}/relative-sitemap.xml",
        "https://cdn.defense-news.example/sitemaps/video.xml",
    ]
    found = sitemaps_from_robots(robots, f"{SITE}/robots.txt")
    assert found.urls == expected
    assert found.problems == ["robots.txt line 14: 'Sitemap' without a URL"]
    assert sitemaps_from_robots(robots.decode(), f"{SITE}/robots.txt").urls == expected


def test_sitemaps_from_robots_with_odd_bytes() -> None:
    body = (
        b"\xef\xbb\xbfSitemap: http://a.example/s\xe9.xml\r\nsitemap:\thttp://a.example/b.xml\r\n"
    )
    assert sitemaps_from_robots(body, "http://a.example/robots.txt").urls == [
        "http://a.example/s\ufffd.xml",
        "http://a.example/b.xml",
    ]
    assert sitemaps_from_robots(b"", "http://a.example/robots.txt").urls == []
    html = b"<html>not robots</html>"
    assert sitemaps_from_robots(html, "http://a.example/robots.txt").urls == []


# --- recency ---


def entry(
    name: str, published: datetime | None = None, lastmod: datetime | None = None
) -> SitemapEntry:
    return SitemapEntry(
        f"http://a.example/{name}", lastmod=lastmod, news_publication_date=published
    )


def test_recent_by_publication_date_else_lastmod_newest_first_undated_last() -> None:
    hour = timedelta(hours=1)
    entries = [
        entry("undated-1"),
        entry("old-published-new-lastmod", published=NOW - 72 * hour, lastmod=NOW - hour),
        entry("fresh-lastmod", lastmod=NOW - 3 * hour),
        entry("fresh-published", published=NOW - 2 * hour, lastmod=NOW - 100 * hour),
        entry("old-lastmod", lastmod=NOW - 49 * hour),
        entry("edge", lastmod=NOW - 48 * hour),
        entry("undated-2"),
        entry("bogus-future", lastmod=NOW + 400 * 24 * hour),
        entry("slightly-ahead", published=NOW + 3 * hour),  # a wrong time zone
    ]
    kept = recent(entries, timedelta(days=2), NOW)
    assert [e.loc.rpartition("/")[2] for e in kept] == [
        "slightly-ahead",
        "fresh-published",
        "fresh-lastmod",
        "edge",
        "undated-1",
        "undated-2",
        "bogus-future",
    ]
    dated_only = recent(entries, timedelta(days=2), NOW, keep_undated=False)
    assert [e.loc.rpartition("/")[2] for e in dated_only] == [
        "slightly-ahead",
        "fresh-published",
        "fresh-lastmod",
        "edge",
    ]


def test_recent_on_the_news_fixture() -> None:
    sitemap = parse_sitemap((DATA / "news-sitemap.xml").read_bytes(), f"{SITE}/news-sitemap.xml")
    kept = recent(sitemap.entries, timedelta(days=2), NOW)
    assert [e.loc for e in kept] == [
        f"{SITE}/2026/11/26/pentagon-ai-targeting-contract/",
        f"{SITE}/2026/11/25/otan-intelligence-artificielle/",
        f"{SITE}/2026/11/26/no-date-given/",  # undated: kept, last
    ]


def test_recent_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        recent([], timedelta(days=2), datetime(2026, 11, 26))
    with pytest.raises(ValueError, match="timezone-aware"):
        recent_sitemaps(Sitemap(kind="index"), timedelta(days=2), datetime(2026, 11, 26))


# --- every form sitemaps.org and robots.txt allow (issue 14) ---


def test_robots_sitemap_keys_as_googles_parser_reads_them() -> None:
    """Google's robots.txt parser (robots.cc, KeyIsSitemap) takes `sitemap` in any case and
    `site-map`; `Sitemaps:` is a common slip. Without the colon, Google still reads
    "Sitemap <url>": so do we, and say so instead of dropping the line."""
    robots = (
        "User-agent: *\n"
        "Disallow: /suche\n"
        "SITEMAP: https://www.zeit.example/sitemap/news.xml\n"
        "Site-map: https://www.zeit.example/sitemap/index.xml\n"
        "sitemaps: https://www.zeit.example/sitemap/videos.xml\n"
        "Sitemap https://www.zeit.example/sitemap/articles.txt\n"
        "Sitemap\n"
        "Crawl-delay 10\n"  # not a sitemap line: no complaint
    )
    found = sitemaps_from_robots(robots, "https://www.zeit.example/robots.txt")
    assert found.urls == [
        "https://www.zeit.example/sitemap/news.xml",
        "https://www.zeit.example/sitemap/index.xml",
        "https://www.zeit.example/sitemap/videos.xml",
        "https://www.zeit.example/sitemap/articles.txt",
    ]
    assert found.problems == [
        "robots.txt line 6: no colon after 'Sitemap'",
        "robots.txt line 7: no colon after 'Sitemap'",
        "robots.txt line 7: 'Sitemap' without a URL",
    ]


def test_text_sitemap_one_url_per_line() -> None:
    """sitemaps.org, "Text file": one fully specified URL per line, UTF-8, nothing else.
    Lines that are not URLs are ignored and counted; raw non-ASCII is UTF-8."""
    body = (
        "\ufeffhttps://www.lemonde.example/pixels/article/2026/12/01/actualité-ia_1.html\r\n"
        "https://www.lemonde.example/international/article/2026/12/01/otan_2.html\r\n"
        "\r\n"
        "   https://www.lemonde.example/international/article/2026/12/01/otan_2.html  \r\n"
        "/relative/not-allowed.html\r\n"
        "# a comment is not a URL either\r\n"
        "https://www.lemonde.example/economie/article/2026/12/01/budget_3.html"
    ).encode()
    for raw in (body, gzip.compress(body)):
        sitemap = parse_sitemap(raw, "https://www.lemonde.example/sitemap.txt")
        assert (sitemap.kind, sitemap.form) == ("urlset", "text")
        assert locs(sitemap) == [
            "https://www.lemonde.example/pixels/article/2026/12/01/actualité-ia_1.html",
            "https://www.lemonde.example/international/article/2026/12/01/otan_2.html",
            "https://www.lemonde.example/economie/article/2026/12/01/budget_3.html",
        ]
        assert sitemap.problem == "text sitemap: 2 lines that are not URLs ignored"


def test_text_sitemap_cut_by_the_size_cap_drops_the_cut_line() -> None:
    body = b"https://blog.example/first-post\nhttps://blog.example/second-post-with-a-long-name\n"
    sitemap = parse_sitemap(body, "https://blog.example/sitemap.txt", max_bytes=60)
    assert locs(sitemap) == ["https://blog.example/first-post"]
    assert sitemap.truncated


RSS_AS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Heise</title><link>https://www.heise.example/</link>
<language>de-de</language>
<item><title>Bundeswehr testet KI</title><link>https://www.heise.example/news/ki-1.html</link>
<pubDate>Tue, 01 Dec 2026 09:30:00 +0100</pubDate></item>
<item><title>Ohne Datum</title><link>https://www.heise.example/news/2.html</link></item>
</channel></rss>"""

ATOM_1_0_AS_SITEMAP = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><id>urn:x</id>
<updated>2026-12-01T10:00:00Z</updated>
<entry><title>Drones</title><link href="https://blog.example/2026/12/drones"/><id>urn:1</id>
<updated>2026-12-01T10:00:00Z</updated></entry></feed>"""

ATOM_0_3_AS_SITEMAP = b"""<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old blog</title>
<entry><title>Radar</title><link rel="alternate" type="text/html"
href="https://old.example/2026/12/radar"/><id>tag:old.example,2026:1</id>
<modified>2026-12-01T08:00:00Z</modified><issued>2026-12-01T07:00:00Z</issued></entry></feed>"""


@pytest.mark.parametrize(
    ("body", "loc", "date", "title"),
    [
        (
            RSS_AS_SITEMAP,
            "https://www.heise.example/news/ki-1.html",
            datetime(2026, 12, 1, 8, 30, tzinfo=UTC),
            "Bundeswehr testet KI",
        ),
        (
            ATOM_1_0_AS_SITEMAP,
            "https://blog.example/2026/12/drones",
            datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
            "Drones",
        ),
        (
            ATOM_0_3_AS_SITEMAP,
            "https://old.example/2026/12/radar",
            datetime(2026, 12, 1, 7, 0, tzinfo=UTC),
            "Radar",
        ),
    ],
    ids=["rss-2.0", "atom-1.0", "atom-0.3"],
)
def test_feed_given_as_sitemap_is_read_with_the_feed_parser(
    body: bytes, loc: str, date: datetime, title: str
) -> None:
    """sitemaps.org, "Syndication feed": RSS 2.0, Atom 0.3 and 1.0 are accepted sitemaps;
    the link is the URL, pubDate / the Atom date its last modification."""
    sitemap = parse_sitemap(body, "https://www.heise.example/rss.xml")
    assert (sitemap.kind, sitemap.form) == ("urlset", "feed")
    first = sitemap.entries[0]
    assert (first.loc, first.date, first.news_title) == (loc, date, title)


def test_rss_as_sitemap_keeps_undated_entries_and_the_feed_language() -> None:
    entries = parse_sitemap(RSS_AS_SITEMAP, "https://www.heise.example/rss.xml").entries
    assert [(e.loc, e.lastmod, e.language) for e in entries][1:] == [
        ("https://www.heise.example/news/2.html", None, "de")
    ]


CUT_URLSET = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
    b"<url><loc>https://www.spiegel.example/politik/nato-gipfel-a-1</loc></url>\n"
    b"<url><loc>https://www.spiegel.example/politik/drohnen-a-2</loc>"
    b"<lastmod>2026-12-01</lastmod></url>\n"
    b"<url><loc>https://www.spiegel.example/politik/page_"
)


def test_a_file_cut_inside_a_loc_drops_the_fragment() -> None:
    """A download cut in the middle of a <loc>: libxml2's recovery hands over the fragment;
    a <loc> that was not closed is dropped and counted, never requested."""
    compressor = zlib.compressobj(wbits=31)  # gzip, cut where CUT_URLSET ends
    cut_gzip = compressor.compress(CUT_URLSET) + compressor.flush(zlib.Z_SYNC_FLUSH)
    for body in (CUT_URLSET, cut_gzip):
        sitemap = parse_sitemap(body, "https://www.spiegel.example/sitemap.xml")
        assert locs(sitemap) == [
            "https://www.spiegel.example/politik/nato-gipfel-a-1",
            "https://www.spiegel.example/politik/drohnen-a-2",
        ]
        assert sitemap.cut_locs == 1
        assert sitemap.problem is not None and "ends inside a <loc>" in sitemap.problem


def test_a_sitemap_index_cut_inside_a_loc_drops_the_fragment() -> None:
    body = index("https://x.example/sitemap-2026-11.xml")[: -len("</sitemapindex>")] + (
        b"<sitemap><loc>https://x.example/sitemap-2026-1"
    )
    sitemap = parse_sitemap(body, "https://x.example/sitemap_index.xml")
    assert sitemap.sitemaps == ["https://x.example/sitemap-2026-11.xml"]
    assert sitemap.cut_locs == 1


def test_a_file_cut_after_a_loc_keeps_every_whole_url() -> None:
    # The last <loc> was closed (or its end tag had begun): its URL is whole.
    for tail in (b"2</loc>", b"2</lo", b"2</loc></url>"):
        sitemap = parse_sitemap(CUT_URLSET + tail, "https://www.spiegel.example/sitemap.xml")
        assert locs(sitemap)[-1] == "https://www.spiegel.example/politik/page_2"
        assert sitemap.cut_locs == 0
