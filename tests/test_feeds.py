"""crawler.sources.feeds: hand-written feeds for each format, encoding, link and failure rule.

Bodies are written inline so each test shows the bytes it is about; the shared corpus is
covered by test_feeds_corpus.py.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.sources.feeds import FeedError, ParsedFeed, parse_feed
from crawler.sources.links import ArticleLink

URL = "http://news.example/feeds/world.xml"


def links(feed: ParsedFeed) -> list[str]:
    return [entry.link for entry in feed.entries]


def rss_items(count: int, link: str = "http://news.example/a/{}") -> bytes:
    items = "".join(
        f"<item><title>Story {i}</title><link>{link.format(i)}</link></item>" for i in range(count)
    )
    return f"<rss version='2.0'><channel><title>T</title>{items}</channel></rss>".encode()


# --- formats ---


def test_rss2() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
  <title>World &amp; Nation</title>
  <language>en-us</language>
  <item>
    <title>Floods   in the
      north</title>
    <link>http://news.example/2024/05/floods</link>
    <guid isPermaLink="false">story-1234</guid>
    <pubDate>Tue, 07 May 2024 14:30:00 +0200</pubDate>
    <description>&lt;p&gt;Rivers &lt;b&gt;rose&lt;/b&gt;&lt;p&gt;overnight.</description>
  </item>
  <item>
    <title>Second</title>
    <link>https://news.example/2024/05/second</link>
  </item>
</channel></rss>"""
    feed = parse_feed(body, URL)
    assert feed == ParsedFeed(
        entries=[
            ArticleLink(
                link="http://news.example/2024/05/floods",
                title="Floods in the north",
                published=datetime(2024, 5, 7, 12, 30, tzinfo=UTC),
                summary="Rivers rose overnight.",
                entry_id="story-1234",
            ),
            ArticleLink(
                link="https://news.example/2024/05/second",
                title="Second",
                published=None,
                summary=None,
                entry_id=None,
            ),
        ],
        title="World & Nation",
        language="en",
        problem=None,
    )


def test_atom10() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de-DE">
  <title type="html">&lt;b&gt;Nachrichten&lt;/b&gt;</title>
  <id>urn:uuid:feed</id>
  <updated>2024-05-07T10:00:00Z</updated>
  <entry>
    <title>Erster</title>
    <link rel="self" href="http://news.example/api/1"/>
    <link rel="enclosure" href="http://news.example/1.mp3"/>
    <link rel="alternate" type="text/html" href="http://news.example/de/1"/>
    <id>tag:news.example,2024:1</id>
    <published>2024-05-07T09:00:00+02:00</published>
    <updated>2024-05-07T11:00:00Z</updated>
    <content type="html">&lt;p&gt;Text&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</content>
  </entry>
  <entry>
    <title>Zweiter</title>
    <link href="http://news.example/de/2"/>
    <id>tag:news.example,2024:2</id>
    <updated>2024-05-06T08:00:00Z</updated>
    <summary>Kurz</summary>
  </entry>
</feed>"""
    feed = parse_feed(body, URL)
    assert feed.title == "Nachrichten"
    assert feed.language == "de"
    first, second = feed.entries
    # rel=self and rel=enclosure are not the article; the alternate link is.
    assert first.link == "http://news.example/de/1"
    assert first.published == datetime(2024, 5, 7, 7, 0, tzinfo=UTC)
    assert first.summary == "Text"  # script body removed by feedparser's sanitizer
    assert first.entry_id == "tag:news.example,2024:1"
    # No <published>: the <updated> date stands in.
    assert second.published == datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
    assert second.summary == "Kurz"


def test_rss10_rdf() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="http://news.example/">
    <title>RDF News</title>
    <link>http://news.example/</link>
    <dc:language>fr</dc:language>
  </channel>
  <item rdf:about="http://news.example/rdf/1">
    <title>Un</title>
    <link>http://news.example/rdf/1</link>
    <dc:date>2023-01-25T18:03:02+01:00</dc:date>
  </item>
  <item rdf:about="http://news.example/rdf/2">
    <title>Deux</title>
    <link>http://news.example/rdf/2</link>
  </item>
</rdf:RDF>"""
    feed = parse_feed(body, URL)
    assert (feed.title, feed.language, feed.problem) == ("RDF News", "fr", None)
    assert links(feed) == ["http://news.example/rdf/1", "http://news.example/rdf/2"]
    assert feed.entries[0].published == datetime(2023, 1, 25, 17, 3, 2, tzinfo=UTC)


def test_json_feed() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON News",
        "language": "pt-BR",
        "items": [
            {
                "id": 17,
                "url": "https://news.example/j/17",
                "title": " Dezessete ",
                "date_published": "2024-05-07T09:00:00-03:00",
                "content_text": "Corpo do texto.",
            },
            {
                "id": "18",
                "external_url": "/j/18",  # relative: resolved against the feed URL
                "summary": "Resumo",
                "content_text": "ignored when a summary exists",
                "date_modified": "2024-05-06T10:00:00Z",
            },
            {"id": "19", "title": "no link at all"},
            "not an object",
            {"url": "https://news.example/j/17", "title": "duplicate"},
            {"url": "https://news.example/j/20", "date_published": "1970-01-01T00:00:00Z"},
        ],
    }
    feed = parse_feed(json.dumps(doc).encode(), "https://news.example/feed.json")
    assert (feed.title, feed.language, feed.problem, feed.skipped) == ("JSON News", "pt", None, 1)
    assert feed.entries == [
        ArticleLink(
            link="https://news.example/j/17",
            title="Dezessete",
            published=datetime(2024, 5, 7, 12, 0, tzinfo=UTC),
            summary="Corpo do texto.",
            entry_id="17",
        ),
        ArticleLink(
            link="https://news.example/j/18",
            title=None,
            published=datetime(2024, 5, 6, 10, 0, tzinfo=UTC),
            summary="Resumo",
            entry_id="18",
        ),
        ArticleLink(
            link="https://news.example/j/20",
            title=None,
            published=None,  # 1970: an epoch-zero placeholder, not a date
            summary=None,
            entry_id=None,
        ),
    ]


def test_json_feed_item_whose_id_is_its_url() -> None:
    """JSON Feed 1.1, items: "Ideally, the id is the full URL of the resource described by
    the item". Generators that follow it (Micro.blog, some WordPress plugins) leave out
    `url`: an absolute http(s) id is then the link. Any other id is only an identifier."""
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {"id": "https://micro.example/2026/12/01/drones.html", "content_text": "Drones."},
            {
                "id": "https://micro.example/2026/12/01/id.html",
                "url": "https://micro.example/2026/12/01/url.html",
            },  # url wins
            {"id": "/2026/12/01/relative.html"},  # a path: never resolved into a link
            {"id": "tag:micro.example,2026:3"},
            {"id": "123"},
            {"id": "javascript:alert(1)"},
        ],
    }
    feed = parse_feed(json.dumps(doc).encode(), "https://micro.example/feed.json")
    assert links(feed) == [
        "https://micro.example/2026/12/01/drones.html",
        "https://micro.example/2026/12/01/url.html",
    ]
    assert feed.entries[0].entry_id == "https://micro.example/2026/12/01/drones.html"
    assert feed.skipped == 4


def test_entries_linking_to_the_home_page_are_not_articles() -> None:
    """A feed item whose link is the site's front page (a "visit our site" item, a CMS that
    has no permalink for the item) is skipped and counted; a query selects a post
    (WordPress's "/?p=123"), so that one stays."""
    items = "".join(
        f"<item><title>{n}</title><link>{link}</link></item>"
        for n, link in enumerate(
            [
                "https://www.kernel.example/",
                "https://www.kernel.example",
                "https://www.kernel.example/#latest",
                "/",
                "https://www.kernel.example/?p=123",
                "https://www.kernel.example/releases/6-19",
            ]
        )
    )
    body = f"<rss version='2.0'><channel><title>K</title>{items}</channel></rss>".encode()
    feed = parse_feed(body, "https://www.kernel.example/feeds/releases.xml")
    assert links(feed) == [
        "https://www.kernel.example/?p=123",
        "https://www.kernel.example/releases/6-19",
    ]
    assert (feed.home_pages, feed.skipped) == (4, 0)
    json_feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [{"id": "1", "url": "https://example.com"}],
    }
    assert parse_feed(json.dumps(json_feed).encode(), URL).home_pages == 1


def test_malformed_links_are_repaired_before_they_are_resolved() -> None:
    """CMS templates write `http:/host/a`, `http://http://host/a`, `http:\\\\host\\a`; the
    WHATWG URL parser reads them as http://host/a. Resolved first against a feed on the same
    scheme, `http:/host/a` would become a path on the feed's host."""
    items = "".join(
        f"<item><title>{n}</title><link>{link}</link></item>"
        for n, link in enumerate(
            [
                "http:/www.example.org/2026/a",
                "http://http://www.example.org/2026/b",
                "http:\\\\www.example.org\\2026\\c",
                "\n    http://www.example.org/2026/d\n  ",
            ]
        )
    )
    body = f"<rss version='2.0'><channel><title>T</title>{items}</channel></rss>".encode()
    assert links(parse_feed(body, "http://feeds.example/rss.xml")) == [
        "http://www.example.org/2026/a",
        "http://www.example.org/2026/b",
        "http://www.example.org/2026/c",
        "http://www.example.org/2026/d",
    ]


def test_json_feed_version_1_with_html_content_and_json_content_type() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1",
            "items": [
                {"url": "https://news.example/1", "content_html": "<p>A</p><p>B &amp; C</p>"}
            ],
        }
    ).encode()
    # Leading whitespace and a UTF-8 BOM do not hide the JSON.
    feed = parse_feed(b"\xef\xbb\xbf \n" + body, URL, {"Content-Type": "application/feed+json"})
    assert feed.entries[0].summary == "A B & C"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"items": []}', "not a feed: JSON document without a jsonfeed.org version"),
        (b'{"version": "1.0", "items": []}', "jsonfeed.org version"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "without an items list"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', "without an items list"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "not a feed: invalid JSON"),
        (b"[1, 2, 3]", "jsonfeed.org version"),
        (b"[" * 100_000 + b"]" * 100_000, "not a feed: invalid JSON"),  # recursion bomb
    ],
)
def test_json_that_is_not_a_json_feed(body: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message.replace(".", r"\.")):
        parse_feed(body, URL, {"Content-Type": "application/json"})


def test_json_label_on_an_xml_body_is_ignored() -> None:
    feed = parse_feed(rss_items(1), URL, {"Content-Type": "application/json"})
    assert links(feed) == ["http://news.example/a/0"]


def test_valid_empty_feed_is_not_an_error() -> None:
    feed = parse_feed(b"<rss version='2.0'><channel><title>Quiet</title></channel></rss>", URL)
    assert feed == ParsedFeed(entries=[], title="Quiet", language=None, problem=None)
    empty_json = b'{"version": "https://jsonfeed.org/version/1.1", "items": []}'
    assert parse_feed(empty_json, URL).entries == []


# --- links ---


def test_relative_links_resolve_against_xml_base_and_the_feed_url() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://cdn.example/blog/">
  <title>T</title>
  <entry><title>feed base</title><link href="posts/1"/><id>1</id></entry>
  <entry xml:base="/other/"><title>entry base</title><link href="2"/><id>2</id></entry>
  <entry><title>absolute</title><link href="https://elsewhere.example/3"/><id>3</id></entry>
</feed>"""
    feed = parse_feed(body, URL)
    assert links(feed) == [
        "http://cdn.example/blog/posts/1",
        "http://cdn.example/other/2",
        "https://elsewhere.example/3",
    ]
    rss = parse_feed(rss_items(1, link="../story/{}"), "http://news.example/feeds/sub/world.xml")
    assert links(rss) == ["http://news.example/feeds/story/0"]


def test_content_location_is_the_base_unless_unsafe() -> None:
    body = rss_items(1, link="/story/{}")
    moved = parse_feed(body, URL, {"Content-Location": "https://mirror.example/feeds/x.xml"})
    assert links(moved) == ["https://mirror.example/story/0"]
    relative = parse_feed(body, URL, {"content-location": "/v2/feed.xml"})
    assert links(relative) == ["http://news.example/story/0"]
    unsafe = parse_feed(body, URL, {"Content-Location": "javascript:alert(1)"})
    assert links(unsafe) == ["http://news.example/story/0"]


def test_entries_without_a_usable_link_are_skipped() -> None:
    body = b"""<rss version="2.0"><channel><title>T</title>
  <item><title>no link</title><description>text only</description></item>
  <item><title>mail</title><link>mailto:desk@news.example</link></item>
  <item><title>script</title><link>javascript:alert(1)</link></item>
  <item><title>ftp</title><link>ftp://news.example/file</link></item>
  <item><title>guid that is not a permalink</title><guid isPermaLink="false">http://news.example/g/1</guid></item>
  <item><title>permalink guid</title><guid>http://news.example/g/2</guid></item>
  <item><title>ok</title><link>http://news.example/ok</link></item>
</channel></rss>"""
    feed = parse_feed(body, URL)
    # An RSS guid is the permalink unless it says isPermaLink="false" (RSS 2.0 spec).
    assert links(feed) == ["http://news.example/g/2", "http://news.example/ok"]
    assert feed.skipped == 5
    assert feed.problem is None


def test_duplicate_links_keep_the_first_entry() -> None:
    body = b"""<rss version="2.0"><channel><title>T</title>
  <item><title>first</title><link>http://news.example/a</link></item>
  <item><title>other</title><link>http://news.example/b</link></item>
  <item><title>again</title><link>http://news.example/a</link></item>
</channel></rss>"""
    feed = parse_feed(body, URL)
    assert [(e.link, e.title) for e in feed.entries] == [
        ("http://news.example/a", "first"),
        ("http://news.example/b", "other"),
    ]


# --- encodings ---

LATIN_TEXT = "Café “Olé” – Zürich"


def test_cp1252_declared_in_the_xml_declaration() -> None:
    body = (
        f"<?xml version='1.0' encoding='windows-1252'?><rss version='2.0'><channel>"
        f"<title>{LATIN_TEXT}</title><item><title>{LATIN_TEXT}</title>"
        f"<link>http://news.example/c</link></item></channel></rss>"
    ).encode("cp1252")
    feed = parse_feed(body, URL)
    assert (feed.title, feed.entries[0].title, feed.problem) == (LATIN_TEXT, LATIN_TEXT, None)


def test_latin1_declared_only_in_the_http_header() -> None:
    text = "Économie à Genève"
    body = (
        f"<rss version='2.0'><channel><title>{text}</title><item><title>{text}</title>"
        f"<link>http://news.example/e</link></item></channel></rss>"
    ).encode("latin-1")
    headers = {"Content-Type": "application/rss+xml; charset=ISO-8859-1"}
    feed = parse_feed(body, URL, headers)
    assert (feed.title, feed.entries[0].title, feed.problem) == (text, text, None)


def test_http_charset_overrides_the_xml_declaration() -> None:
    text = "Économie"
    body = (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{text}</title>"
        f"<item><title>{text}</title><link>http://news.example/e</link></item></channel></rss>"
    ).encode("latin-1")
    feed = parse_feed(body, URL, {"Content-Type": "application/xml; charset=iso-8859-1"})
    assert (feed.entries[0].title, feed.problem) == (text, None)


def test_undeclared_utf8_without_content_type_is_read_as_utf8() -> None:
    # HTTP headers present but no Content-Type: decode like a local file, not as ISO-8859-1.
    body = rss_items(0).replace(b"<title>T</title>", "<title>Ünïcode</title>".encode())
    feed = parse_feed(body, URL, {"Content-Language": "de"})
    assert (feed.title, feed.language, feed.problem) == ("Ünïcode", "de", None)


def test_utf16_with_bom() -> None:
    body = "<?xml version='1.0' encoding='utf-16'?>".encode("utf-16") + rss_items(1).decode(
        "ascii"
    ).encode("utf-16-le")
    assert links(parse_feed(body, URL)) == ["http://news.example/a/0"]


# --- recoverable and unusable bodies ---


def test_malformed_but_recoverable_xml_gives_entries_and_a_problem() -> None:
    body = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>T</title>
<item><title>one</title><link>http://news.example/1</link></item>
<item><title>two &amp; <b>bold</title><link>http://news.example/2</link></item>
</channel></rss>"""
    feed = parse_feed(body, URL)
    assert links(feed) == ["http://news.example/1", "http://news.example/2"]
    assert feed.problem == "malformed XML: mismatched tag at line 4"


def test_undefined_entity_is_recovered() -> None:
    body = b"""<rss version="2.0"><channel><title>T&hellip;</title>
<item><title>caf&eacute;</title><link>http://news.example/1</link></item>
</channel></rss>"""
    feed = parse_feed(body, URL)
    assert links(feed) == ["http://news.example/1"]
    # Line 1 of the body: feedparser's own count is one higher for undeclared documents.
    assert feed.problem == "malformed XML: undefined entity at line 1"


def test_feed_served_as_text_plain_is_parsed_with_a_problem() -> None:
    feed = parse_feed(rss_items(2), URL, {"Content-Type": "text/plain; charset=utf-8"})
    assert len(feed.entries) == 2
    assert feed.problem == "content type: text/plain; charset=utf-8 is not an XML media type"


def test_empty_feed_with_only_an_encoding_or_media_type_complaint_is_not_an_error() -> None:
    # feedparser flags it (bozo), but a recognised feed with a wrong label is still a feed.
    body = b"<rss version='2.0'><channel><title>Quiet</title></channel></rss>"
    feed = parse_feed(body, URL, {"Content-Type": "text/plain"})
    assert (feed.entries, feed.title) == ([], "Quiet")
    assert feed.problem == "content type: text/plain is not an XML media type"


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"", None, "not a feed: empty body"),
        (b" \r\n\t ", None, "not a feed: empty body"),
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</body></html>",
            {"Content-Type": "text/html; charset=utf-8"},
            "not a feed: looks like an HTML page",
        ),
        (
            b"<html><body><p>Moved</p></body></html>",
            {"Content-Type": "application/rss+xml"},
            "not a feed: looks like an HTML page",
        ),
        (
            b"<?xml version='1.0'?>\n<rss version='2.0'>\n<channel><title>x</channel>",
            None,
            "not a feed: XML syntax error at line 3: mismatched tag",
        ),
        (b"\x00\x9f\xff garbage \x01\x02", None, "not a feed"),
        (b"Service Unavailable", {"Content-Type": "text/plain"}, "not a feed"),
        (
            b"<?xml version='1.0'?><urlset><url><loc>http://x.example/</loc></url></urlset>",
            None,
            "not a feed: no RSS, Atom or RDF document element",
        ),
    ],
)
def test_unusable_bodies_raise_feed_error(
    body: bytes, headers: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(FeedError, match=message) as caught:
        parse_feed(body, URL, headers)
    assert "\n" not in str(caught.value)


def test_a_body_naming_a_local_file_is_not_opened(tmp_path: Path) -> None:
    # Given bytes, feedparser would try open(body) first; a hostile server must not be able
    # to make us read local files.
    local = tmp_path / "feed.xml"
    local.write_bytes(rss_items(1))
    with pytest.raises(FeedError):
        parse_feed(str(local).encode(), URL)


@pytest.mark.parametrize(
    "body",
    [
        b"<rss><channel>" + b"<item>" * 2_000,  # deep nesting, never closed
        b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY a 'aaaaaaaaaa'>"
        b"<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>"
        b"<!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>]><rss><channel><title>&d;&d;&d;</title>"
        b"</channel></rss>",  # entity expansion
        b"<rss><channel><item><link>http://[::1</link></item></channel></rss>",
        b"<rss><channel><item><pubDate>" + b"9" * 5000 + b"</pubDate></item></channel></rss>",
        b"\xff\xfe\x00\x00<\x00\x00\x00",  # UTF-32 BOM, then junk
        b"<" * 20_000,
    ],
)
def test_hostile_bodies_raise_nothing_but_feed_error(body: bytes) -> None:
    with contextlib.suppress(FeedError):
        parse_feed(body, URL)


# --- caps, dates, languages ---


def test_max_entries_keeps_the_first_n() -> None:
    feed = parse_feed(rss_items(12), URL, max_entries=5)
    assert links(feed) == [f"http://news.example/a/{i}" for i in range(5)]
    assert feed.truncated
    exact = parse_feed(rss_items(5), URL, max_entries=5)
    assert (len(exact.entries), exact.truncated) == (5, False)


def test_duplicates_do_not_count_against_the_cap() -> None:
    body = rss_items(3, link="http://news.example/same") + b""
    feed = parse_feed(body, URL, max_entries=1)
    assert (links(feed), feed.truncated) == (["http://news.example/same"], False)


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Tue, 07 May 2024 14:30:00 GMT", datetime(2024, 5, 7, 14, 30, tzinfo=UTC)),
        ("2024-05-07T14:30:00-05:00", datetime(2024, 5, 7, 19, 30, tzinfo=UTC)),
        # Future dates are kept: the caller decides what to do with them.
        ("Sat, 01 Jan 2050 00:00:00 GMT", datetime(2050, 1, 1, tzinfo=UTC)),
        # Day names in other languages (seen on Italian feeds).
        ("mer, 16 nov 2022 00:38:15 +0100", datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC)),
        ("Thu, 01 Jan 1970 00:00:00 GMT", None),
        ("Mon, 01 Jan 1900 00:00:00 GMT", None),
        ("yesterday", None),
        # A zone nobody can read: no date rather than one nine hours off.
        ("Thu,28 Jul 2022 4:35:5 GMT+9", None),
    ],
)
def test_dates(date: str, expected: datetime | None) -> None:
    body = (
        "<rss version='2.0'><channel><title>T</title><item><link>http://news.example/d</link>"
        f"<pubDate>{date}</pubDate></item></channel></rss>"
    ).encode()
    assert parse_feed(body, URL).entries[0].published == expected


@pytest.mark.parametrize(
    ("declared", "header", "expected"),
    [
        ("en-US", None, "en"),
        ("EN", None, "en"),
        ("pt_BR", None, "pt"),
        ("iw", None, "he"),
        ("US", None, None),
        ("english", None, None),
        (None, "fr-CA", "fr"),
        ("de", "fr", "de"),
        (None, None, None),
    ],
)
def test_language(declared: str | None, header: str | None, expected: str | None) -> None:
    language = f"<language>{declared}</language>" if declared else ""
    body = f"<rss version='2.0'><channel><title>T</title>{language}</channel></rss>".encode()
    headers = {"Content-Language": header} if header else None
    assert parse_feed(body, URL, headers).language == expected


# --- authors: what may stand for the page's byline (`entry_metadata`) -------------------


def test_authors_of_rss_atom_and_json_feed_entries() -> None:
    rss = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>
<item><link>https://e.org/a</link><author>jane@e.org (Jane  Doe)</author></item>
<item><link>https://e.org/b</link><dc:creator>Ann &amp; Bob</dc:creator></item>
<item><link>https://e.org/c</link><author>only-an-address@e.org</author></item>
<item><link>https://e.org/d</link><dc:creator>X</dc:creator><dc:creator>Y</dc:creator>
<dc:creator>X</dc:creator></item>
<item><link>https://e.org/e</link><dc:creator>   </dc:creator></item>
<item><link>https://e.org/f</link></item>
</channel></rss>"""
    authors = {e.link: e.author for e in parse_feed(rss, "https://e.org/").entries}
    assert authors == {
        "https://e.org/a": "Jane Doe",  # RSS's "address (name)": the name
        "https://e.org/b": "Ann & Bob",
        "https://e.org/c": None,  # an address is no name
        "https://e.org/d": "X; Y",  # each once, in order
        "https://e.org/e": None,
        "https://e.org/f": None,
    }
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>f</id>
<entry><id>1</id><link href="https://e.org/a"/><author><name>Jane</name>
<email>j@e.org</email></author><author><name>Bob</name></author></entry></feed>"""
    assert [e.author for e in parse_feed(atom, "https://e.org/").entries] == ["Jane; Bob"]
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {"id": "1", "url": "https://e.org/a", "authors": [{"name": "Jane"}, {"url": "x"}]},
            {"id": "2", "url": "https://e.org/b", "author": {"name": "Old Style"}},  # 1.0
            {"id": "3", "url": "https://e.org/c", "authors": "not a list of objects"},
            {"id": "4", "url": "https://e.org/d", "authors": [{"name": "W" * 1000}]},
        ],
    }
    entries = parse_feed(json.dumps(doc).encode(), "https://e.org/feed.json").entries
    assert [e.author for e in entries[:3]] == ["Jane", "Old Style", None]
    assert entries[3].author == "W" * 300  # a byline, not a megabyte
