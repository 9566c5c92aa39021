"""crawler.sources.feeds over the shared feed corpus: every manifest line gives entries or a
FeedError.

The corpus (../shared/corpus/feeds, described in its README) holds the test feeds of
feedparser, feed-rs, mediacloud's rss-fetcher and trafilatura, byte for byte. Each manifest line
goes through parse_feed with its HTTP headers and URL, as the feeds spider would pass them.
Checked per line: nothing but FeedError escapes; a well-formed file with entries yields entries
(or all of them are skipped for lacking a link); feedparser's own bozo expectation agrees with
newsmon's `problem`/FeedError; and where the line carries `expected` (the source project's own
parse result), newsmon matches it or DEVIATIONS says why newsmon deliberately differs.
"""

from __future__ import annotations

import codecs
import json
import re
from collections import Counter
from typing import Any
from xml.etree import ElementTree

import pytest

from crawler.sources.feeds import FeedError, ParsedFeed, parse_feed
from tests.conftest import CORPUS

pytestmark = pytest.mark.slow  # the whole corpus

FEEDS = CORPUS / "feeds"
MANIFEST = FEEDS / "manifest.jsonl"


def load_manifest() -> list[dict[str, Any]]:
    if not MANIFEST.is_file():
        return []
    with MANIFEST.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


CASES = load_manifest()


def case_params() -> list[Any]:
    if not CASES:
        # An empty parameter list would be skipped; a missing corpus has to fail.
        return [pytest.param(None, id="corpus-missing")]
    return [pytest.param(case, id=case["file"]) for case in CASES]


def require_corpus() -> None:
    if not CASES:
        pytest.fail(
            f"feed corpus manifest not found or empty: {MANIFEST}. These tests need the shared "
            "corpus checked out next to the repository (../shared/corpus from the repo root)."
        )


def run(case: dict[str, Any]) -> ParsedFeed | FeedError:
    body = (FEEDS / case["file"]).read_bytes()
    url = case.get("served_url") or f"http://127.0.0.1/feeds/{case['file']}"
    try:
        return parse_feed(body, url, case.get("http_headers"))
    except FeedError as exc:
        return exc


def entries_in_file(case: dict[str, Any]) -> int:
    """How many entries a well-formed file holds, counted without feedparser."""
    body = (FEEDS / case["file"]).read_bytes()
    if case["format"] == "jsonfeed":
        items = json.loads(body).get("items")
        return len(items) if isinstance(items, list) else 0
    root = ElementTree.fromstring(body if case["expat_parses"] else decode_xml(body))
    return sum(1 for element in root.iter() if local_name(element.tag) in {"item", "entry"})


# Byte patterns that give away the encoding of an XML document (XML 1.0, appendix F). UTF-32
# comes first: its little-endian BOM starts with the UTF-16 one.
ENCODING_MARKERS = [
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (codecs.BOM_UTF8, "utf-8-sig"),
]


def decode_xml(body: bytes) -> str:
    """The document as text, for encodings expat cannot read itself (UTF-32, Big5, EUC-KR)."""
    for marker, encoding in ENCODING_MARKERS:
        if body.startswith(marker):
            text = body.decode(encoding)
            break
    else:
        declared = re.search(rb"encoding=[\"']([\w.:-]+)", body[:200])
        text = body.decode(declared.group(1).decode() if declared else "utf-8")
    # A str is parsed as Unicode; a leftover encoding declaration would contradict that.
    return re.sub(r"^<\?xml[^>]*\?>", "", text)


def local_name(tag: Any) -> str:
    return tag.rpartition("}")[2].lower() if isinstance(tag, str) else ""


# Where newsmon deliberately reads a feed differently from the source project's own parser
# (feed-rs for all of these): the fields newsmon gives instead, and why.
UPDATED_ONLY = (
    "feed-rs reports only <published>; the entry has just <updated>, which newsmon falls back to"
)
NO_LINK = (
    "the entries have no link, permalink guid or http(s) id: newsmon skips entries it cannot "
    "fetch (counted in ParsedFeed.skipped)"
)
NO_ENTRIES = {
    "entries": 0,
    "first_entry_title": None,
    "first_entry_link": None,
    "first_entry_published": None,
}
HOME_PAGE = (
    "an entry links to the site's home page (https://example.com): not an article, skipped "
    "and counted in ParsedFeed.home_pages (issue 14)"
)
DEVIATIONS: dict[str, tuple[dict[str, Any], str]] = {
    "feed-rs/jsonfeed/jsonfeed_elastic_1.1.json": ({"entries": 2}, HOME_PAGE),
    "feed-rs/rss2/rss_2.0_kdist.xml": (NO_ENTRIES, HOME_PAGE),
    "feed-rs/atom/atom_content_src.xml": (
        {"first_entry_published": "2024-03-08T00:00:00Z"},
        UPDATED_ONLY,
    ),
    "feed-rs/atom/atom_example_2.xml": (
        {"first_entry_published": "2019-07-31T11:54:28Z"},
        UPDATED_ONLY,
    ),
    "feed-rs/atom/atom_example_4.xml": (
        {"first_entry_published": "2019-07-17T03:10:16Z"},
        UPDATED_ONLY,
    ),
    "feed-rs/atom/atom_example_5.xml": (
        {"first_entry_published": "2019-07-31T13:07:31Z"},
        UPDATED_ONLY,
    ),
    "feed-rs/atom/atom_example_6.xml": (
        {"first_entry_published": "2020-01-19T05:08:59Z"},
        UPDATED_ONLY,
    ),
    "feed-rs/atom/atom_example_reddit.xml": (
        {"first_entry_published": "2020-05-18T05:44:47Z"},
        UPDATED_ONLY,
    ),
    "feed-rs/atom/atom_spec_1.xml": (
        {"first_entry_published": "2003-12-13T18:30:02Z"},
        UPDATED_ONLY,
    ),
    "feed-rs/atom/atom_relative.xml": (
        {
            "first_entry_link": "http://127.0.0.1/blog/2003/12/13/atom03",
            "first_entry_published": "2003-12-13T18:30:02Z",
        },
        "feed-rs leaves the link relative; newsmon resolves it against the document URL (here "
        "the made-up 127.0.0.1 one, there is no xml:base), and falls back to <updated>",
    ),
    "feed-rs/atom/atom_xml_base.xml": (
        {
            "first_entry_link": "https://numi.st/post/2022/travel-uke",
            "first_entry_published": "2022-04-21T00:00:00Z",
        },
        "the entry has no <link>; feedparser takes its http(s) atom:id as the link, which "
        "newsmon keeps; the date is <updated>",
    ),
    "feed-rs/rss2/rss_2.0_spec_1.xml": (
        {
            "first_entry_link": "http://scriptingnews.userland.com/backissues/2002/09/29#When:12:59:01PM"
        },
        'RSS 2.0: a <guid> not marked isPermaLink="false" is the item\'s permalink; feedparser '
        "and newsmon use it as the link, feed-rs does not",
    ),
    "feed-rs/rss0/rss_0.91_encoding_1.xml": (
        {"first_entry_link": "http://www.Dicas-L.com.br/dicas-l/20200406.php"},
        "feed-rs lowercases the host; newsmon keeps links as written (canonicalization is the "
        "job of a later stage)",
    ),
    "feed-rs/rss1/rss_1.0_example_1.xml": (
        {"first_entry_link": "http://127.0.0.1/feeds/feed-rs/rss1/記事1のURL"},
        "the <link> is the placeholder text '記事1のURL', a relative reference that newsmon "
        "resolves against the feed URL like any other",
    ),
    "feed-rs/rss2/rss_2.0_nbcny.xml": (
        {"first_entry_published": "2023-12-16T02:02:33Z"},
        "'Sat, Dec 16 2023 02:02:33 PM' has no zone: feed-rs rejects it, feedparser reads it as "
        "02:02:33 UTC (ignoring PM) and newsmon takes feedparser's parsed date",
    ),
    "feed-rs/atom/atom_entry_1.xml": (NO_ENTRIES, NO_LINK),
    "feed-rs/atom/atom_example_7.xml": (NO_ENTRIES, NO_LINK),
    "feed-rs/atom/atom_pub_spec_1.xml": (NO_ENTRIES, NO_LINK),
    "feed-rs/rss0/rss_0.91_missing_id.xml": (NO_ENTRIES, NO_LINK),
    "feed-rs/rss0/rss_0.92_spec_1.xml": (NO_ENTRIES, NO_LINK),
    "feed-rs/rss2/rss_2.0_ghost_1.xml": (NO_ENTRIES, NO_LINK),
}

# Lines whose feedparser expectation ("not bozo") newsmon deliberately does not share.
NOT_BOZO_BUT_ERROR = {
    # CDF has no version marker feedparser reports, so an item-less CDF channel looks like any
    # other XML document: newsmon calls it "not a feed" rather than a valid empty feed.
    "feedparser/wellformed/cdf/channel_lastmod_parsed.xml",
}


def utc_string(feed: ParsedFeed) -> str | None:
    published = feed.entries[0].published if feed.entries else None
    return published.strftime("%Y-%m-%dT%H:%M:%SZ") if published else None


@pytest.mark.parametrize("case", case_params())
def test_corpus_feed(case: dict[str, Any] | None) -> None:
    require_corpus()
    assert case is not None
    result = run(case)  # anything but FeedError propagates and fails the test

    count = entries_in_file(case) if case["wellformed"] else 0
    if count:
        assert isinstance(result, ParsedFeed), f"well-formed feed rejected: {result}"
        # Entries newsmon cannot fetch (no http(s) link) or that link to the site's home
        # page (feedparser's test feeds do: http://example.com/) are skipped, and counted.
        assert result.entries or result.skipped + result.home_pages == count

    expect = case.get("expect") or ""
    if expect.startswith("bozo"):
        assert isinstance(result, FeedError) or result.problem, "bozo feed reported clean"
    elif expect.startswith("not bozo"):
        if case["file"] in NOT_BOZO_BUT_ERROR:
            assert isinstance(result, FeedError)
        else:
            assert isinstance(result, ParsedFeed), f"clean feed rejected: {result}"
            assert result.problem is None

    expected = case.get("expected")
    if expected:
        overrides, _why = DEVIATIONS.get(case["file"], ({}, ""))
        wanted = {key: value for key, value in expected.items() if key != "note"} | overrides
        assert isinstance(result, ParsedFeed), f"expected a feed, got: {result}"
        got: dict[str, Any] = {"entries": len(result.entries)}
        if "feed_title" in wanted:
            got["feed_title"] = result.title
        if "first_entry_title" in wanted:
            first = result.entries[0] if result.entries else None
            got["first_entry_title"] = first.title if first else None
            got["first_entry_link"] = first.link if first else None
            got["first_entry_published"] = utc_string(result)
        assert got == {key: wanted[key] for key in got}


def test_deviations_name_real_cases() -> None:
    require_corpus()
    with_expected = {case["file"] for case in CASES if case.get("expected")}
    assert set(DEVIATIONS) <= with_expected
    assert NOT_BOZO_BUT_ERROR.issubset(case["file"] for case in CASES)


def test_corpus_outcomes() -> None:
    """Pin how the corpus splits, so a feedparser upgrade or a rule change shows up here."""
    require_corpus()
    outcomes: Counter[str] = Counter()
    for case in CASES:
        result = run(case)
        if isinstance(result, FeedError):
            outcomes["FeedError"] += 1
            continue
        outcomes["entries" if result.entries else "no usable entries"] += 1
        if result.problem:
            outcomes["problem"] += 1
    print(f"\nfeed corpus, {len(CASES)} files: {dict(outcomes)}")
    # 9 feeds link every entry to the home page (feedparser's test feeds to example.com,
    # kernel.org's feed of releases to its front page): no usable entries since issue 14.
    assert outcomes == {"entries": 75, "no usable entries": 208, "FeedError": 13, "problem": 23}
