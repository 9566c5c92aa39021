"""crawler.sources.opml: subscription lists from feed readers in, OPML 2.0 out, and back again.

tests/data/opml/ holds exports shaped like Feedly's (OPML 1.0, folders with text and title,
non-ASCII names, a feed listed twice) and NetNewsWire's (OPML 1.1, tabs, a comment, unnamed
feeds, `feed://`, a gopher feed, odd attribute casing, the `category` attribute).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from crawler.sources.opml import OpmlError, OpmlFeed, parse_opml, read_opml, write_opml

DATA = Path(__file__).parent / "data" / "opml"


def test_feedly_export() -> None:
    feeds = parse_opml((DATA / "feedly.opml").read_bytes())
    assert feeds == [
        OpmlFeed(
            "Zone Militaire",
            "https://www.opex360.com/feed/",
            "https://www.opex360.com",
            "Défense & IA",
        ),
        OpmlFeed(
            "Le Monde – Défense",
            "https://www.lemonde.fr/defense/rss_full.xml",
            "https://www.lemonde.fr/defense/",
            "Défense & IA",
        ),
        # "Opex360 (copie)" has the same xmlUrl as Zone Militaire: the first one is kept.
        OpmlFeed(
            "Augen geradeaus!",
            "https://augengeradeaus.net/feed/",
            "https://augengeradeaus.net",
            "Deutsch/Bundeswehr & Sicherheit",
        ),
        OpmlFeed(
            "heise online – Künstliche Intelligenz",
            "https://www.heise.de/rss/heise-Rubrik-KI.rdf?seite=1&format=rss",
            "https://www.heise.de/thema/Kuenstliche-Intelligenz",
            "Deutsch/Bundeswehr & Sicherheit",
        ),
        OpmlFeed(
            "NHK 国際",
            "https://www3.nhk.or.jp/rss/news/cat6.xml",
            "https://www3.nhk.or.jp/news/",
            "日本語ニュース",
        ),
        OpmlFeed(
            "War on the Rocks",
            "https://warontherocks.com/feed/",
            "https://warontherocks.com/",
            None,
        ),
    ]


def test_netnewswire_export() -> None:
    feeds = parse_opml((DATA / "netnewswire.opml").read_bytes())
    assert feeds == [
        OpmlFeed(
            "Breaking Defense", "https://breakingdefense.com/feed/", "https://breakingdefense.com/"
        ),
        OpmlFeed(
            "Lawfare",
            "https://www.lawfaremedia.org/feeds/all",
            "https://www.lawfaremedia.org/",
            "Policy",
        ),
        OpmlFeed("Just Security", "http://www.justsecurity.org/feed/", None, "Policy"),  # feed://
        OpmlFeed(None, "https://defensescoop.com/feed/", None, "Policy"),  # named by its URL only
        # gopher:// is not a feed newsmon can fetch: skipped
        OpmlFeed(
            "Upper-case attribute names",
            "https://upper.example/rss.xml",
            "https://upper.example/",
            "Feeds with odd casing",
        ),
        # whitespace collapsed; nesting wins over the category attribute
        OpmlFeed("Spaced title", "https://spaced.example/atom.xml", None, "Feeds with odd casing"),
        OpmlFeed(
            "Categorised by attribute", "https://www.csis.org/rss.xml", None, "Think tanks/US"
        ),
    ]


@pytest.mark.parametrize("name", ["feedly.opml", "netnewswire.opml"])
def test_round_trip(name: str) -> None:
    feeds = parse_opml((DATA / name).read_bytes())
    written = write_opml(feeds, "newsmon sources")
    assert parse_opml(written) == feeds
    assert write_opml(parse_opml(written), "newsmon sources") == written


def test_written_opml_is_valid_opml_2_with_nested_categories() -> None:
    feeds = [
        OpmlFeed(
            "A & B <news>", 'https://a.example/feed?x=1&y="2"', "https://a.example/", "Top/Sub"
        ),
        OpmlFeed("Second", "https://b.example/rss", None, "Top"),
        OpmlFeed(None, "https://c.example/atom.xml"),
        OpmlFeed("Third", "https://d.example/rss", None, "Top/Sub"),
    ]
    written = write_opml(feeds, "Veille « défense » & IA")
    assert written.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(written)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Veille « défense » & IA"
    folders = [o for o in root.find("body") if o.get("xmlUrl") is None]
    assert [(o.get("text"), o.get("title")) for o in folders] == [("Top", "Top"), ("Top", "Top")]
    sub = folders[0][0]
    assert sub.get("text") == "Sub"
    assert [o.get("title") for o in sub] == ["A & B <news>"]
    assert [o.get("title") for o in folders[0]][1:] == ["Second"]
    assert [o.get("title") for o in folders[1][0]] == ["Third"]  # Top/Sub again, after c.example
    first = sub[0]
    assert first.get("type") == "rss"
    assert first.get("xmlUrl") == 'https://a.example/feed?x=1&y="2"'
    assert first.get("htmlUrl") == "https://a.example/"
    untitled = root.find("body/outline[@xmlUrl='https://c.example/atom.xml']")
    assert untitled.get("text") == "https://c.example/atom.xml" and untitled.get("title") is None
    assert parse_opml(written) == feeds


def test_write_drops_characters_xml_cannot_hold() -> None:
    feeds = [OpmlFeed("Bell\x07 and\x00 null", "https://a.example/feed", None, "Cat\x1b")]
    assert parse_opml(write_opml(feeds, "T\x0c")) == [
        OpmlFeed("Bell and null", "https://a.example/feed", None, "Cat")
    ]


def test_write_with_no_feeds() -> None:
    assert parse_opml(write_opml([], "Empty")) == []


def test_max_feeds() -> None:
    feeds = [OpmlFeed(f"F{i}", f"https://a.example/{i}.xml") for i in range(20)]
    assert parse_opml(write_opml(feeds, "many"), max_feeds=5) == feeds[:5]


def test_deeply_nested_folders_do_not_recurse() -> None:
    body = (
        b"<opml version='2.0'><body>"
        + b"<outline text='f'>" * 200
        + b"<outline text='deep' xmlUrl='https://a.example/feed'/>"
        + b"</outline>" * 200
        + b"</body></opml>"
    )
    (feed,) = parse_opml(body)
    assert feed.category == "/".join(["f"] * 200)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not an OPML file: empty"),
        (b"   ", "not an OPML file: empty"),
        (b"<html><body>Login</body></html>", "root element <html>, expected <opml>"),
        (b"<!DOCTYPE html><html><body><p>unclosed", "looks like an HTML page"),
        (b"<rss version='2.0'><channel/></rss>", "root element <rss>, expected <opml>"),
        (b"<opml version='2.0'><head/></opml>", "no <body> element"),
        (
            b"<opml version='2.0'>\n<body>\n<outline text='a' xmlUrl='https://a.example/?a=1&b=2'/>"
            b"\n</body></opml>",
            "not well-formed XML: line 3: ",
        ),
        (b"\xff\xfe\x00garbage", "not well-formed XML"),
    ],
)
def test_not_opml(body: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        parse_opml(body)


def test_entities_are_neither_fetched_nor_expanded() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<opml version='2.0'><body><outline text='&xxe;' xmlUrl='https://a.example/feed'/>"
        b"</body></opml>"
    )
    with pytest.raises(OpmlError, match="external entity"):
        parse_opml(xxe)
    laughs = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY e0 "lol">' + laughs + "]>"
        "<opml version='2.0'><body><outline text='&e9;' xmlUrl='https://a.example/feed'/>"
        "</body></opml>"
    ).encode()
    with pytest.raises(OpmlError, match="not well-formed XML"):
        parse_opml(bomb)


def test_read_opml_says_which_outlines_it_skipped_and_why() -> None:
    body = b"""<?xml version="1.0"?><opml version="2.0"><body>
      <outline text="Good" xmlUrl="https://a.example/feed"/>
      <outline text="Again" xmlUrl="https://a.example/feed"/>
      <outline text="Gopher" xmlUrl="gopher://b.example/feed"/>
      <outline text="Folder"><outline text="Later" xmlUrl="https://c.example/feed"/></outline>
    </body></opml>"""
    feeds, skipped = read_opml(body)
    assert [feed.title for feed in feeds] == ["Good", "Later"]
    assert skipped == [
        "'Again': https://a.example/feed is listed twice",
        "'Gopher': xmlUrl is not an http(s) URL: 'gopher://b.example/feed'",
    ]
    capped, over = read_opml(body, max_feeds=1)
    assert len(capped) == 1 and over[-1] == "1 more feed(s): over the limit of 1 feeds per file"
