"""crawler.sources.search_engines: search-engine links to the publisher's URL, offline; title
matching; the optional Google endpoint's request and answer. Pure functions, real-shaped input."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

from crawler.sources.feeds import parse_feed
from crawler.sources.search_engines import (
    SearchLink,
    TitleIndex,
    batchexecute_body,
    batchexecute_url,
    bing_target,
    decode_google_news_id,
    decoding_params,
    describe_resolution,
    google_news_id,
    headline,
    parse_batchexecute,
    parse_hosts,
    search_link,
    title_similarity,
)

# Public examples (the BBC one is an old-style id of 2024; the second a new-style one, whose
# field 4 is an opaque "AU_yqL..." token).
BBC_ID = (
    "CBMiLmh0dHBzOi8vd3d3LmJiYy5jb20vbmV3cy9hcnRpY2xlcy9jampqbnhkdjE4OG_SATJodHRwczovL3d3dy5i"
    "YmMuY29tL25ld3MvYXJ0aWNsZXMvY2pqam54ZHYxODhvLmFtcA"
)
NEW_STYLE_ID = (
    "CBMiVkFVX3lxTE4zaGU2bTY2ZGkzdTRkSkJ0cFpsTGlDUjkxU2FBRURaTWU0c3QzVWZ1MHZZNkZ5Vzk1ZVBnTDFH"
    "Y2R6ZmdCUkpUTUJsS1pqQTlCRzlzbHV3"
)


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def google_id(url: str | None = None, amp: str | None = None, kind: int = 19) -> str:
    """An id shaped as Google News writes them: field 1 (varint), field 4 (the URL), field 26
    (the AMP URL), unpadded base64url."""
    message = varint(1 << 3) + varint(kind)
    if url is not None:
        message += field(4, url.encode())
    if amp is not None:
        message += field(26, amp.encode())
    return base64.urlsafe_b64encode(message).decode().rstrip("=")


def test_public_old_style_id_decodes_to_the_bbc_article() -> None:
    assert BBC_ID.startswith("CBMi")
    assert decode_google_news_id(BBC_ID) == "https://www.bbc.com/news/articles/cjjjnxdv188o"


def test_new_style_id_is_not_decoded_offline() -> None:
    assert decode_google_news_id(NEW_STYLE_ID) is None


def test_constructed_ids_decode_field_by_field() -> None:
    short = "https://www.opex360.com/2026/11/30/ia-armee/"
    assert google_id(short).startswith("CBMi")  # field 1 = 19, then field 4: as Google's
    assert decode_google_news_id(google_id(short)) == short
    # Over 127 bytes the length is a two-byte varint ("CBMi" followed by a different byte).
    long = "https://www.defensenews.com/artificial-intelligence/2026/12/01/" + "a-" * 60 + "x/"
    assert len(long) > 127
    assert decode_google_news_id(google_id(long)) == long
    # The AMP URL when field 4 holds no URL; field 1 with another value ("CAIi...").
    amp = "https://www.example.org/amp/story"
    assert decode_google_news_id(google_id("AU_yqLtoken", amp=amp)) == amp
    assert decode_google_news_id(google_id(short, kind=2)) == short
    assert google_id(short, kind=2).startswith("CAIi")


def test_damaged_ids_decode_to_nothing() -> None:
    whole = google_id("https://www.example.org/2026/story")
    assert decode_google_news_id(whole[:20]) is None  # the URL cut short
    assert decode_google_news_id("not base64 at all!") is None
    assert decode_google_news_id(google_id("javascript:alert(1)")) is None
    assert decode_google_news_id(google_id("/relative/path")) is None
    assert decode_google_news_id("") is None


def test_google_news_links_recognised_by_host_and_path() -> None:
    link = f"https://news.google.com/rss/articles/{BBC_ID}?oc=5"
    assert google_news_id(link) == BBC_ID
    assert google_news_id(f"https://news.google.com/articles/{BBC_ID}") == BBC_ID
    assert google_news_id(f"https://news.google.com/read/{BBC_ID}?hl=en-US") == BBC_ID
    assert google_news_id(f"https://example.com/rss/articles/{BBC_ID}") is None
    assert google_news_id("https://news.google.com/rss/search?q=ai") is None
    local = f"http://127.0.0.1:8123/rss/articles/{BBC_ID}"
    assert google_news_id(local) is None
    assert google_news_id(local, parse_hosts("news.google.com, 127.0.0.1:8123")) == BBC_ID
    assert google_news_id(local, parse_hosts("127.0.0.1")) == BBC_ID
    assert search_link(link) == SearchLink(
        "google", "https://www.bbc.com/news/articles/cjjjnxdv188o", BBC_ID
    )
    new_style = f"https://news.google.com/rss/articles/{NEW_STYLE_ID}?oc=5"
    assert search_link(new_style) == SearchLink("google", None, NEW_STYLE_ID)
    assert search_link("https://www.opex360.com/feed/") == SearchLink()


def test_bing_click_link_gives_the_publisher_url() -> None:
    link = (
        "http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=6752D1A8B3F04A5C9E1A8B2D"
        "&url=https%3a%2f%2fwww.defenseone.com%2ftechnology%2f2026%2f12%2fpentagon-ai-office"
        "%2f401234%2f%3futm_source%3dbing&c=1234567890123456789&mkt=en-us"
    )
    target = (
        "https://www.defenseone.com/technology/2026/12/pentagon-ai-office/401234/?utm_source=bing"
    )
    assert bing_target(link) == target
    assert search_link(link) == SearchLink("bing", target)
    # Any host: the shape is Bing's own, and the click would redirect there anyway.
    assert bing_target("http://127.0.0.1:9/news/apiclick.aspx?url=http%3a%2f%2fa.example%2fx")
    assert bing_target("https://www.bing.com/news/apiclick.aspx?url=javascript%3aalert(1)") is None
    assert bing_target("https://www.bing.com/news/apiclick.aspx?aid=1") is None
    assert bing_target("https://www.bing.com/news/search?q=x&url=https%3a%2f%2fa.example") is None


def test_headline_drops_the_publisher_suffix() -> None:
    title = "Meta ouvre l'accès de ses IA aux militaires américains - Le Monde"
    assert headline(title, "Le Monde") == "Meta ouvre l'accès de ses IA aux militaires américains"
    assert headline(title, "Les Echos") == title
    assert headline(title, None) == title
    assert headline("Le Monde", "Le Monde") == "Le Monde"


def test_title_similarity_is_blind_to_case_accents_and_punctuation() -> None:
    assert title_similarity("Meta ouvre l'accès de ses IA", "META OUVRE L’ACCES DE SES IA") == 1.0
    assert title_similarity("", "x") == 0.0
    one_word = title_similarity(
        "Pentagon picks four firms for its frontier AI contracts this year",
        "Pentagon picks four companies for its frontier AI contracts this year",
    )
    assert 0.9 <= one_word < 1.0


def test_title_index_finds_near_matches_and_refuses_others() -> None:
    index = TitleIndex()
    index.add("Pentagon expands use of AI in targeting decisions", "https://p.example/a", "feed")
    index.add("Pentagon expands use of AI in targeting decisions", "https://p.example/a", "feed")
    index.add("Army tests drone swarms over the Baltic Sea", "https://p.example/b", "sitemap")
    index.add(None, "https://p.example/c", "sitemap")
    assert len(index) == 2
    assert index.find("Pentagon expands use of AI in targeting decisions") == (
        "https://p.example/a",
        "feed",
    )
    # One word added: still the same story.
    assert index.find("Pentagon expands the use of AI in targeting decisions") == (
        "https://p.example/a",
        "feed",
    )
    assert index.find("Pentagon limits use of AI in logistics decisions") is None
    assert index.find("Army tests drone swarms over the North Sea") is None  # 0.875: refused
    assert index.find(None) is None
    assert index.find("...") is None


def test_title_index_ambiguity_and_preference() -> None:
    index = TitleIndex()
    index.add("AI and defence: live updates", "https://p.example/live-1", "feed")
    index.add("AI and defence: live updates", "https://p.example/live-2", "feed")
    assert index.find("AI and defence: live updates") is None  # two stories, one title
    index = TitleIndex()
    index.add("Drones over the Baltic", "https://p.example/feed-copy", "feed")
    index.add("Drones over the Baltic", "https://p.example/sitemap-copy", "sitemap")
    index.prefer("sitemap")
    assert index.find("Drones over the Baltic") is None  # still two URLs for one title
    index = TitleIndex()
    index.add("Drones over the Baltic Sea", "https://p.example/feed-copy", "feed")
    index.add("Drones over the Baltic", "https://p.example/sitemap-copy", "sitemap")
    index.prefer("sitemap")
    assert index.find("Drones over the Baltic Sea") == ("https://p.example/feed-copy", "feed")
    # One URL in the feed and the sitemap: the sitemap's, whichever answered first.
    index = TitleIndex()
    index.add("Drones over the Baltic", "https://p.example/story", "feed")
    index.add("Drones over the Baltic", "https://p.example/story", "sitemap")
    assert index.find("Drones over the Baltic") == ("https://p.example/story", "feed")
    index.prefer("sitemap")
    assert index.find("Drones over the Baltic") == ("https://p.example/story", "sitemap")


# Shaped as news.google.com's article page and batchexecute answer (December 2026 shape as
# published by open-source decoders; constructed here, not recorded from Google).
ARTICLE_PAGE = (
    '<!doctype html><html><body><c-wiz><div jscontroller="aLI87" data-n-a-sg="AZ5r3eT1x9Q"'
    ' data-n-a-ts="1764758400" data-n-a-id="{id}"></div></c-wiz></body></html>'
)


def test_decoding_params_and_request_body() -> None:
    assert decoding_params(ARTICLE_PAGE) == ("AZ5r3eT1x9Q", "1764758400")
    assert decoding_params("<html><form action='https://consent.google.com/save'>") is None
    body = batchexecute_body(NEW_STYLE_ID, "1764758400", "AZ5r3eT1x9Q")
    request = json.loads(parse_qs(body)["f.req"][0])
    rpc, payload, _, _ = request[0][0]
    assert rpc == "Fbv4je"
    inner = json.loads(payload)
    assert inner[0] == "garturlreq"
    assert inner[2:] == [NEW_STYLE_ID, 1764758400, "AZ5r3eT1x9Q"]
    assert (
        batchexecute_url(f"https://news.google.com/rss/articles/{NEW_STYLE_ID}?oc=5")
        == "https://news.google.com/_/DotsSplashUi/data/batchexecute"
    )


def answer(url: str, chunked: bool = False) -> str:
    rows = [
        ["wrb.fr", "Fbv4je", json.dumps(["garturlres", url, 1]), None, None, None, "generic"],
        ["di", 31],
        ["af.httprm", 30, "-2281409046474286352", 4],
    ]
    if not chunked:
        return ")]}'\n\n" + json.dumps(rows)
    first, second = json.dumps([rows[0]]), json.dumps(rows[1:])
    return f")]}}'\n\n{len(first)}\n{first}\n{len(second)}\n{second}\n"


def test_parse_batchexecute_answers() -> None:
    url = "https://www.lemonde.fr/pixels/article/2026/12/01/meta-ia-militaires_6612345_4408996.html"
    assert parse_batchexecute(answer(url)) == url
    assert parse_batchexecute(answer(url, chunked=True)) == url
    assert parse_batchexecute(answer("javascript:alert(1)")) is None
    assert parse_batchexecute(')]}\'\n\n[["er",null,null,null,null,400]]') is None
    assert parse_batchexecute("<html>Sorry...</html>") is None
    assert parse_batchexecute("") is None


def test_describe_resolution() -> None:
    counts = {
        "decoded": 3,
        "sitemap": 2,
        "headline-only: no publisher named": 1,
        "headline-only: no matching title on the publisher's site": 1,
    }
    assert describe_resolution(counts) == (
        "5 resolved to the publisher's article (3 decoded from Google's id, 2 from the "
        "publisher's sitemap), 2 headline-only (1 no matching title on the publisher's site, "
        "1 no publisher named)"
    )
    assert describe_resolution({"headline-only: x": 2}) == (
        "0 resolved to the publisher's article, 2 headline-only (2 x)"
    )


def test_feed_entries_carry_the_publisher() -> None:
    google = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>
<title>"military AI" - Google News</title><link>https://news.google.com/search?q=x</link>
<item><title>Pentagon expands AI - Defense One</title>
<link>https://news.google.com/rss/articles/{BBC_ID}?oc=5</link>
<guid isPermaLink="false">{BBC_ID}</guid><pubDate>Mon, 01 Dec 2026 08:00:00 GMT</pubDate>
<description>&lt;a href="https://news.google.com/rss/articles/{BBC_ID}?oc=5"&gt;Pentagon expands
AI&lt;/a&gt;&amp;nbsp;&amp;nbsp;&lt;font color="#6f6f6f"&gt;Defense One&lt;/font&gt;</description>
<source url="https://www.defenseone.com">Defense One</source></item></channel></rss>"""
    entry = parse_feed(google.encode(), "https://news.google.com/rss/search?q=x").entries[0]
    assert entry.publisher == "Defense One"
    assert entry.publisher_url == "https://www.defenseone.com"
    assert entry.summary == "Pentagon expands AI Defense One"
    bing = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"
xmlns:News="https://www.bing.com:443/news/search?q=Pentagon&amp;format=rss"><channel>
<title>Pentagon - Bing News</title><link>https://www.bing.com/news/search?q=Pentagon</link>
<item><title>Pentagon AI office</title>
<link>http://www.bing.com/news/apiclick.aspx?ref=FexRss&amp;aid=&amp;tid=1&amp;url=https%3a%2f%2fwww.defenseone.com%2fx%2f&amp;c=1&amp;mkt=en-us</link>
<description>The Pentagon's AI office...</description>
<pubDate>Mon, 01 Dec 2026 08:00:00 GMT</pubDate>
<News:Source>Defense One</News:Source></item></channel></rss>"""
    entry = parse_feed(bing.encode(), "https://www.bing.com/news/search?q=x").entries[0]
    assert entry.publisher == "Defense One"
    assert entry.publisher_url is None
    assert bing_target(entry.link) == "https://www.defenseone.com/x/"
