"""Unit cases for crawler.extract.page: small hand-written pages, plus two real blog pages.

The two pages in tests/data/pages/ are unchanged copies from the shared corpus, which took
them from adbar/trafilatura (Apache-2.0, commit e90b0ef51ab026fdb905fb6c5b3c84dd3d784fd5,
tests/eval/bibliothek2null.de.mai.html and tests/eval/hearya.com.metal.html); the expected
strings are that project's own annotations.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import trafilatura

from crawler.extract.page import (
    EXTRACTOR,
    MAX_HTML_CHARS,
    Byline,
    Extracted,
    extract_article,
    read_page,
)

PAGES = Path(__file__).parent / "data" / "pages"
URL = "https://www.example.com/news/2024/budget-approved"
NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)

SENTENCE = (
    "The city council approved the new budget on Tuesday after a long debate about schools, "
    "roads and the future of public transport in the region."
)
PARAGRAPH = " ".join([SENTENCE] * 4)
PARAGRAPH_2 = (
    "Opposition members argued that the plan raises fees for families while postponing repairs "
    "to the river bridge, and they promised to bring the question back next spring."
)
GERMAN = (
    "Der Stadtrat hat am Dienstag nach einer langen Debatte über Schulen, Straßen und die "
    "Zukunft des öffentlichen Nahverkehrs in der Region den neuen Haushalt beschlossen. "
) * 4


def page(
    head: str = "",
    html_attrs: str = "",
    body: str = "",
    paragraphs: tuple[str, ...] = (PARAGRAPH, PARAGRAPH_2),
) -> str:
    article = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html{html_attrs}><head><meta charset='utf-8'>"
        f"<title>Budget approved | Example News</title>{head}</head><body>"
        "<nav><a href='/'>Home</a> <a href='/politics'>Politics</a></nav>"
        f"<article><h1>Budget approved</h1>{article}</article>{body}"
        "<footer><p>© Example News</p></footer></body></html>"
    )


def extract(html: str, url: str = URL, feed_published: datetime | None = None) -> Extracted:
    result = extract_article(html, url, feed_published, now=NOW)
    assert result is not None
    return result


def test_plain_article() -> None:
    result = extract(
        page(html_attrs=' lang="en"', head='<meta name="author" content=" Jane Doe ">')
    )
    assert SENTENCE in result.text
    # One paragraph per line; the headline is the title, not the first paragraph.
    assert result.text.split("\n") == [PARAGRAPH, PARAGRAPH_2]
    assert "Politics" not in result.text and "©" not in result.text
    assert result.title == "Budget approved"
    assert result.author == "Jane Doe"
    assert result.language == "en"
    assert result.extractor == EXTRACTOR == f"trafilatura {trafilatura.__version__}"


# --- canonical URL ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(
            '<link rel="canonical" href="https://www.example.com/news/budget">',
            "https://www.example.com/news/budget",
            id="same-host",
        ),
        pytest.param(
            '<link rel="canonical" href="https://example.com/news/budget">',
            "https://example.com/news/budget",
            id="parent-domain",
        ),
        pytest.param(
            '<link rel="canonical" href="http://m.www.example.com/b">',
            "http://m.www.example.com/b",
            id="subdomain",
        ),
        pytest.param(
            '<link rel="canonical" href="/news/budget?id=7">',
            "https://www.example.com/news/budget?id=7",
            id="relative",
        ),
        pytest.param(
            '<link rel="canonical" href="../other">',
            "https://www.example.com/news/other",
            id="relative-dotdot",
        ),
        pytest.param(
            '<link rel="canonical" href="//www.example.com/news/budget">',
            "https://www.example.com/news/budget",
            id="scheme-relative",
        ),
        pytest.param(
            '<base href="https://www.example.com/archive/"><link rel="canonical" href="budget">',
            "https://www.example.com/archive/budget",
            id="relative-to-base",
        ),
        pytest.param(
            '<link rel="Canonical alternate" href="  https://www.example.com/b  ">',
            "https://www.example.com/b",
            id="rel-token-case-space",
        ),
        pytest.param(
            '<link rel="canonical" href="https://WWW.Example.COM./b">',
            "https://WWW.Example.COM./b",
            id="host-case-trailing-dot",
        ),
        pytest.param(
            '<meta property="og:url" content="https://example.com/news/budget">',
            "https://example.com/news/budget",
            id="og-url-fallback",
        ),
        pytest.param(
            '<link rel="canonical" href="https://www.example.com/a">'
            '<meta property="og:url" content="https://www.example.com/b">',
            "https://www.example.com/a",
            id="canonical-before-og-url",
        ),
        pytest.param(
            '<link rel="canonical" href="javascript:void(0)">'
            '<meta property="og:url" content="https://www.example.com/b">',
            "https://www.example.com/b",
            id="invalid-canonical-then-og-url",
        ),
        pytest.param(
            '<link rel="canonical" href="https://aggregator.net/news/budget">',
            None,
            id="cross-site",
        ),
        pytest.param(
            '<link rel="canonical" href="https://notexample.com/b">',
            None,
            id="suffix-not-subdomain",
        ),
        pytest.param('<link rel="canonical" href="https://com/b">', None, id="bare-tld"),
        pytest.param('<link rel="canonical" href="javascript:alert(1)">', None, id="javascript"),
        pytest.param('<link rel="canonical" href="data:text/html,hi">', None, id="data-uri"),
        pytest.param('<link rel="canonical" href="ftp://www.example.com/b">', None, id="ftp"),
        pytest.param('<link rel="canonical" href="http://[::1">', None, id="broken-ipv6"),
        pytest.param('<link rel="canonical" href="">', None, id="empty"),
        # A host that canonicalize refuses passes the same-site test: never handed on.
        pytest.param(
            '<link rel="canonical" href="https://a b.www.example.com/b">',
            None,
            id="host-with-a-space",
        ),
        # A malformed absolute link is repaired, not read as a path on the page's host.
        pytest.param(
            '<link rel="canonical" href="https:/www.example.com/news/budget">',
            "https://www.example.com/news/budget",
            id="one-slash",
        ),
        pytest.param('<link rel="alternate" href="https://www.example.com/b">', None, id="not-rel"),
        pytest.param(
            '<meta property="og:url" content="https://other.org/b">', None, id="og-url-cross-site"
        ),
        pytest.param("", None, id="none-declared"),
    ],
)
def test_canonical_url(head: str, expected: str | None) -> None:
    assert extract(page(head=head)).canonical_url == expected


def test_canonical_url_of_a_page_on_an_ip_address() -> None:
    head = '<link rel="canonical" href="http://127.0.0.1:8080/a">'
    result = extract(page(head=head), url="http://127.0.0.1:8080/b")
    assert result.canonical_url == "http://127.0.0.1:8080/a"
    assert extract(page(head=head), url="http://127.0.0.2/b").canonical_url is None


def test_internationalized_hosts_compare_in_punycode() -> None:
    head = '<link rel="canonical" href="https://www.bücher.de/a">'
    result = extract(page(head=head), url="https://xn--bcher-kva.de/a")
    assert result.canonical_url == "https://www.bücher.de/a"


# --- language ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html_attrs", "head", "expected"),
    [
        pytest.param(' lang="fr-FR"', "", "fr", id="html-lang-region"),
        pytest.param(' lang=" DE "', "", "de", id="html-lang-case"),
        pytest.param(' xml:lang="pt_BR"', "", "pt", id="xml-lang"),
        pytest.param(' lang="zh-Hant-TW"', "", "zh", id="script-subtag"),
        pytest.param(' lang="iw"', "", "he", id="withdrawn-code"),
        pytest.param(
            "", '<meta http-equiv="Content-Language" content="es, en">', "es", id="content-language"
        ),
        pytest.param("", '<meta property="og:locale" content="it_IT">', "it", id="og-locale"),
        pytest.param(
            ' lang="x-default"',
            '<meta property="og:locale" content="nl_NL">',
            "nl",
            id="invalid-then-og-locale",
        ),
        # Seen in the corpus (people.cn): a charset where the language belongs.
        pytest.param(
            "", '<meta http-equiv="Content-Language" content="utf-8">', "en", id="bogus-detected"
        ),
        pytest.param(' lang="und"', "", "en", id="undetermined-detected"),
        pytest.param("", "", "en", id="undeclared-detected"),
    ],
)
def test_language(html_attrs: str, head: str, expected: str) -> None:
    assert extract(page(html_attrs=html_attrs, head=head)).language == expected


def test_language_detected_when_not_declared() -> None:
    assert extract(page(paragraphs=(GERMAN, GERMAN))).language == "de"


def test_declared_language_wins_over_detection() -> None:
    # Declared first, by design: detection only fills in for pages that declare nothing.
    assert extract(page(html_attrs=' lang="fr"', paragraphs=(GERMAN,))).language == "fr"


def test_cjk_text_without_spaces_counts_as_words() -> None:
    japanese = (
        "東京都は今日、新しい交通政策を発表しました。市民の生活に大きな影響があると見られています。"
        * 2
    )
    result = extract(page(paragraphs=(japanese,)))
    assert result.language == "ja"
    assert result.text.startswith("東京都は今日")


# --- comments ---------------------------------------------------------------------------


def test_reader_comments_are_not_in_the_text() -> None:
    comments = (
        '<section id="comments" class="comments-area"><h2>3 Comments</h2>'
        '<ol class="comment-list"><li class="comment">'
        "<p>Totally disagree, the mayor wasted our money on the tram line.</p></li>"
        '<li class="comment">'
        "<p>Great reporting, thanks for covering the budget vote so closely.</p></li>"
        "</ol></section>"
    )
    result = extract(page(body=comments))
    assert SENTENCE in result.text
    assert "disagree" not in result.text and "Great reporting" not in result.text


@pytest.mark.parametrize(
    ("name", "url", "expected_with", "expected_without", "comments"),
    [
        (
            "bibliothek2null-de",
            "http://www.bibliothek2null.de/2014/05/18/alles-neue-mach-der-mai/",
            [
                "Nachdem ich mein Blog",
                "Der Anfang ist gemacht",
                "Ich hoffe euch gefällt der Relaunch.",
            ],
            ["Deine E-Mail-Adresse wird", "bei Informationspraxis- ein neues", "Permalink"],
            ["ich bin schon ganz gespannt"],
        ),
        (
            "hearya-com",
            "http://www.hearya.com/2006/12/04/hit-paraders-top-100-metal-vocalists-of-all-time/",
            [
                "100. Ray Gillen",
                "Keith Caputo, Life of Agony",
                "I’m not much of a metal guy these days, but I dabbled",
            ],
            ["Leave a Comment", "Recent Comments", "Blogroll"],
            ["Really, no Shagrath?", "Where’s Max Cavalera??"],
        ),
    ],
)
def test_real_blog_page_without_its_comments(
    name: str, url: str, expected_with: list[str], expected_without: list[str], comments: list[str]
) -> None:
    html = gzip.decompress((PAGES / f"{name}.html.gz").read_bytes()).decode("utf-8")
    result = extract(html, url=url)
    for snippet in expected_with:
        assert snippet in result.text
    for snippet in expected_without + comments:
        assert snippet not in result.text
    assert result.canonical_url == url
    assert result.published is not None
    assert result.published.date().isoformat() == url.split("/", 3)[3][:10].replace("/", "-")


def test_real_page_metadata() -> None:
    html = gzip.decompress((PAGES / "bibliothek2null-de.html.gz").read_bytes()).decode("utf-8")
    result = extract(html, url="http://www.bibliothek2null.de/2014/05/18/alles-neue-mach-der-mai/")
    assert result.language == "de"  # <html lang="de-DE">
    assert result.author == "Patrick Danowski"
    assert result.published == datetime(2014, 5, 18, tzinfo=UTC)


# --- publication date -------------------------------------------------------------------

DAY_META = '<meta name="date" content="{}">'
TIME_META = '<meta property="article:published_time" content="{}">'


@pytest.mark.parametrize(
    ("head", "feed", "expected"),
    [
        pytest.param("", None, None, id="nothing"),
        pytest.param(
            "",
            datetime(2024, 3, 5, 8, 15, tzinfo=UTC),
            datetime(2024, 3, 5, 8, 15, tzinfo=UTC),
            id="feed-fallback",
        ),
        pytest.param(
            "",
            datetime(2024, 3, 5, 10, 15, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 3, 5, 8, 15, tzinfo=UTC),
            id="feed-converted-to-utc",
        ),
        pytest.param(
            "",
            datetime(2024, 3, 5, 8, 15),
            datetime(2024, 3, 5, 8, 15, tzinfo=UTC),
            id="naive-feed-is-utc",
        ),
        pytest.param(
            DAY_META.format("2024-03-05"), None, datetime(2024, 3, 5, tzinfo=UTC), id="page-day"
        ),
        pytest.param(
            DAY_META.format("2024-03-05"),
            datetime(2024, 3, 5, 8, 15, tzinfo=UTC),
            datetime(2024, 3, 5, 8, 15, tzinfo=UTC),
            id="same-day-feed-adds-time",
        ),
        pytest.param(
            DAY_META.format("2024-03-05"),
            datetime(2024, 3, 4, 23, 30, tzinfo=UTC),
            datetime(2024, 3, 5, tzinfo=UTC),
            id="other-day-feed-page-wins",
        ),
        pytest.param(
            DAY_META.format("2024-03-05"),
            datetime(2024, 3, 5, 0, 30, tzinfo=timezone(timedelta(hours=1))),
            datetime(2024, 3, 4, 23, 30, tzinfo=UTC),
            id="same-day-in-the-feeds-zone",
        ),
        pytest.param(
            TIME_META.format("2024-03-05T10:30:00+01:00"),
            None,
            datetime(2024, 3, 5, 9, 30, tzinfo=UTC),
            id="page-time-to-utc",
        ),
        pytest.param(
            TIME_META.format("2024-03-05T10:30:00+01:00"),
            datetime(2024, 3, 5, 8, 15, tzinfo=UTC),
            datetime(2024, 3, 5, 9, 30, tzinfo=UTC),
            id="page-time-beats-feed",
        ),
        pytest.param(
            DAY_META.format("2024-04-01"),
            datetime(2024, 3, 5, 8, 15, tzinfo=UTC),
            datetime(2024, 3, 5, 8, 15, tzinfo=UTC),
            id="future-page-day-falls-back-to-feed",
        ),
        pytest.param(DAY_META.format("2024-04-01"), None, None, id="future-page-day-no-feed"),
        pytest.param(
            TIME_META.format("2024-03-10T18:00:00Z"),
            datetime(2024, 3, 5, 8, 15, tzinfo=UTC),
            datetime(2024, 3, 5, 8, 15, tzinfo=UTC),
            id="future-page-time-falls-back-to-feed",
        ),
        pytest.param(
            DAY_META.format("2024-03-05"),
            datetime(2024, 3, 12, tzinfo=UTC),
            datetime(2024, 3, 5, tzinfo=UTC),
            id="future-feed-ignored",
        ),
        pytest.param("", datetime(2024, 3, 12, tzinfo=UTC), None, id="future-feed-gives-none"),
        pytest.param(
            DAY_META.format("2024-04-01"), datetime(2024, 3, 12, tzinfo=UTC), None, id="both-future"
        ),
        # Tolerances: a day-precision date of "tomorrow" is a time-zone artifact and a
        # timestamp minutes ahead is clock skew; both are clamped to now, never future.
        pytest.param(DAY_META.format("2024-03-11"), None, NOW, id="tomorrow-day-clamped"),
        pytest.param(DAY_META.format("2024-03-12"), None, None, id="day-after-tomorrow"),
        pytest.param(TIME_META.format("2024-03-10T12:10:00Z"), None, NOW, id="clock-skew-clamped"),
        pytest.param("", NOW + timedelta(minutes=10), NOW, id="feed-clock-skew-clamped"),
        pytest.param("", NOW + timedelta(hours=1), None, id="feed-hour-ahead"),
    ],
)
def test_published(head: str, feed: datetime | None, expected: datetime | None) -> None:
    result = extract(
        page(head=head), url="https://www.example.com/news/budget", feed_published=feed
    )
    assert result.published == expected
    if result.published is not None:
        assert result.published.utcoffset() == timedelta(0)
        assert result.published <= NOW


def test_now_defaults_to_the_current_time() -> None:
    tomorrow = datetime.now(UTC) + timedelta(days=2)
    html = page(head=TIME_META.format(tomorrow.strftime("%Y-%m-%dT%H:%M:%SZ")))
    result = extract_article(html, URL, feed_published=datetime(2024, 3, 5, tzinfo=UTC))
    assert result is not None
    assert result.published == datetime(2024, 3, 5, tzinfo=UTC)


# The order of trust (issue 14): the page's structured metadata, then the feed's or
# sitemap's date, then a date found only in the text; a bare year never becomes a day.

LATER_NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FEED_DATE = datetime(2026, 11, 28, 9, 15, tzinfo=UTC)
GERMAN_PROJECT = (
    "Das Verteidigungsministerium hat ein Pilotprojekt zur Auswertung von Satellitenbildern "
    "mit künstlicher Intelligenz gestartet. Beteiligt sind zwei Forschungsinstitute und ein "
    "mittelständisches Unternehmen aus Bayern. Das Projekt läuft bis Ende 2025 und soll danach "
    "evaluiert werden. Kritiker bemängeln, dass der Bundestag erst spät informiert wurde und "
    "die Kosten für die Rechenzentren nicht beziffert sind."
)


def german_page(head: str = "", body_extra: str = "", footer: str = "") -> str:
    return (
        '<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">'
        f"<title>KI-Pilotprojekt gestartet</title>{head}</head><body>"
        f"<article><h1>KI-Pilotprojekt gestartet</h1><p>{GERMAN_PROJECT}</p>"
        f"<p>{GERMAN_PROJECT}</p>{body_extra}</article><footer>{footer}</footer></body></html>"
    )


def published(html: str, feed: datetime | None) -> datetime | None:
    result = extract_article(
        html, "https://www.example.de/politik/ki-pilotprojekt", feed, now=LATER_NOW
    )
    assert result is not None
    return result.published


def test_broken_meta_date_and_a_year_in_the_text_give_the_feeds_date() -> None:
    """The page that was stored as published 2025-01-01: its meta date is broken (2099) and
    htmldate's extensive search found "Ende 2025" in the body, which beat the feed's pubDate.
    A guess from the text never beats the feed's date, and a bare year never becomes a day."""
    html = german_page(head=TIME_META.format("2099-01-01T10:00:00+01:00"))
    assert published(html, FEED_DATE) == FEED_DATE
    assert published(html, None) is None


def test_a_copyright_year_is_no_publication_date() -> None:
    html = german_page(footer="<p>© 2023 Beispiel Verlag GmbH. Alle Rechte vorbehalten.</p>")
    assert published(html, None) is None
    assert published(html, FEED_DATE) == FEED_DATE


def test_a_date_only_in_the_text_comes_after_the_feeds_date() -> None:
    text_date = "<p>Am 14. November 2026 hatte der Ausschuss das Vorhaben gebilligt.</p>"
    html = german_page(body_extra=text_date)
    assert published(html, FEED_DATE) == FEED_DATE
    assert published(html, None) == datetime(2026, 11, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    "structured",
    [
        pytest.param(TIME_META.format("2026-11-27T08:00:00+01:00"), id="meta"),
        pytest.param(
            '<script type="application/ld+json">{"@context": "https://schema.org", '
            '"@type": "NewsArticle", "datePublished": "2026-11-27T08:00:00+01:00"}'
            "</script>",
            id="json-ld",
        ),
        pytest.param("", id="time-element"),
    ],
)
def test_the_pages_structured_date_beats_the_feeds(structured: str) -> None:
    time_element = "" if structured else '<time datetime="2026-11-27T08:00:00+01:00">27.11.</time>'
    html = german_page(head=structured, body_extra=time_element)
    assert published(html, FEED_DATE) == datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


# --- not an article / hostile input -----------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("", id="empty"),
        pytest.param("   \n\t ", id="whitespace"),
        pytest.param("<html></html>", id="empty-document"),
        pytest.param(bytes(range(256)).decode("latin-1") * 200, id="binary-junk"),
        pytest.param("\x00" * 10_000, id="nul-bytes"),
        pytest.param('{"items": [1, 2, 3], "next": null}' * 500, id="json"),
        pytest.param("<<<>>><><html <body <p>>>" * 10_000, id="broken-tags"),
        pytest.param(
            page(
                paragraphs=(
                    "<a href='/a'>World</a> <a href='/b'>Business</a> <a href='/c'>Sport</a> "
                    "<a href='/d'>Culture</a> <a href='/e'>Weather</a>",
                )
            ),
            id="navigation-only",
        ),
        pytest.param(
            page(
                paragraphs=(
                    "This article is for subscribers only.",
                    "Subscribe now for unlimited access to all our journalism, or log in "
                    "if you already have an account.",
                )
            ),
            id="login-wall",
        ),
        pytest.param(
            "<html><head><title>404 Not Found</title></head><body><h1>Page not found</h1>"
            "<p>Sorry, the page you are looking for does not exist or has been moved.</p>"
            "<p><a href='/'>Back to the homepage</a></p></body></html>",
            id="error-page",
        ),
    ],
)
def test_not_an_article(html: str) -> None:
    assert extract_article(html, URL, now=NOW) is None


def test_pathological_markup_gives_none_quickly() -> None:
    nested = "<div>" * 200_000 + PARAGRAPH + "</div>" * 200_000
    # libxml2 stops descending at depth 256, so the buried text never reaches the tree.
    assert extract_article(f"<html><body>{nested}</body></html>", URL, now=NOW) is None
    # 300,000 elements: over MAX_ELEMENTS, refused before trafilatura's quadratic fallbacks.
    cells = "<table><tr><td>x</td></tr></table>" * 100_000
    started = time.perf_counter()
    assert extract_article(f"<html><body>{cells}</body></html>", URL, now=NOW) is None
    assert time.perf_counter() - started < 5


def test_big_page_is_extracted_in_fast_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    original = trafilatura.bare_extraction

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["fast"])
        return original(*args, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", spy)
    # 12,000 elements of one-cell tables (over FAST_MODE_ELEMENTS): 0.3 s in fast mode,
    # 4.6 s in full mode, where justext's neighbour search is quadratic.
    cells = "<div>" + "<table><tr><td>x</td></tr></table>" * 4_000 + "</div>"
    result = extract(page(body=cells))
    assert result.text.split("\n") == [PARAGRAPH, PARAGRAPH_2]
    extract(page())
    assert calls == [True, False]


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(page() + "\ud800", id="lone-surrogate"),
        pytest.param("<?xml version='1.0' encoding='utf-8'?>" + page(), id="xml-declaration"),
        pytest.param(page().replace("<p>", "<p>\x00\x07\x1b"), id="control-characters"),
        pytest.param(page().replace("</p>", "").replace("</article>", ""), id="unclosed-tags"),
        pytest.param(page().encode("utf-8").decode("latin-1"), id="mojibake"),
    ],
)
def test_survives_odd_but_readable_pages(html: str) -> None:
    result = extract_article(html, URL, now=NOW)
    assert result is not None
    assert "city council approved" in result.text


def test_megabytes_of_text_are_capped_and_bounded_in_time() -> None:
    html = "<html><body><p>" + "the budget vote was close " * 400_000 + "</p></body></html>"
    assert len(html) > 2 * MAX_HTML_CHARS
    started = time.perf_counter()
    result = extract_article(html, URL, now=NOW)
    assert time.perf_counter() - started < 30
    assert result is not None
    assert len(result.text) <= MAX_HTML_CHARS


def test_garbage_page_url_gives_no_canonical_url() -> None:
    html = page(head='<link rel="canonical" href="https://www.example.com/b">')
    for url in ("", "not a url", "http://[::1", "javascript:alert(1)", "https://"):
        result = extract_article(html, url, now=NOW)
        assert result is not None
        assert result.canonical_url is None


def test_language_data_loads_the_justext_stopwords_before_workers_fork() -> None:
    """The fork server imports `crawler.extract.language_data` so that workers share the
    stopwords trafilatura's justext fallback needs (0.1-1.5 s and 27 MB each otherwise). The
    module uses public API only; this checks, in a fresh process, that trafilatura's cache and
    justext's set are filled by the import."""
    code = (
        "import json, trafilatura.external as e, justext.core as j\n"
        "before = [e.JT_STOPLIST is not None, j.define_stoplist.cache_info().currsize]\n"
        "import crawler.extract.language_data\n"
        "after = [e.JT_STOPLIST is not None, j.define_stoplist.cache_info().currsize]\n"
        "print(json.dumps([before, after, len(e.JT_STOPLIST or ())]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 0, result.stderr
    before, after, words = json.loads(result.stdout)
    assert before == [False, 0]
    assert after == [True, 1]
    assert words > 100_000  # every language's stopwords


# --- the entry's title, author and date standing for the page's (`entry_metadata`) ------

ENTRY_DATE = datetime(2024, 3, 8, 7, 30, tzinfo=UTC)
PAGE_HEAD = (
    '<meta name="author" content="Page Author">'
    + TIME_META.format("2024-03-09T10:00:00Z")
    + '<meta property="og:title" content="Budget approved">'
)


def test_an_entry_with_title_author_and_date_stands_for_the_page() -> None:
    html = page(html_attrs=' lang="en"', head=PAGE_HEAD)
    from_page = extract(html)
    assert (from_page.title, from_page.author) == ("Budget approved", "Page Author")
    assert from_page.published == datetime(2024, 3, 9, 10, tzinfo=UTC)
    byline = Byline(" Budget  approved ", "Entry Author")
    result = read_page(html, URL, ENTRY_DATE, now=NOW, byline=byline)
    assert result is not None
    assert (result.title, result.author, result.published) == (
        "Budget approved",
        "Entry Author",
        ENTRY_DATE,
    )
    # The text (its headline, the entry's title, not repeated in it), language and canonical
    # URL are the page's, as without the entry.
    assert (result.text, result.language, result.canonical_url) == (
        from_page.text,
        from_page.language,
        from_page.canonical_url,
    )


@pytest.mark.parametrize(
    ("byline", "feed_published"),
    [
        pytest.param(Byline("Budget approved", None), ENTRY_DATE, id="no-author"),
        pytest.param(Byline(None, "Entry Author"), ENTRY_DATE, id="no-title"),
        pytest.param(Byline("  ", "Entry Author"), ENTRY_DATE, id="blank-title"),
        pytest.param(Byline("Budget approved", "Entry Author"), None, id="no-date"),
        # A date ahead of now is scheduled or mistyped: the page's own is looked for.
        pytest.param(
            Byline("Budget approved", "Entry Author"), NOW + timedelta(hours=1), id="future-date"
        ),
        pytest.param(None, ENTRY_DATE, id="no-byline"),
        pytest.param(
            Byline("Budget approved", "Entry Author", stands_for_page=False),
            ENTRY_DATE,
            id="entry-metadata-off",
        ),
    ],
)
def test_an_entry_lacking_a_field_leaves_the_page_metadata(
    byline: Byline | None, feed_published: datetime | None
) -> None:
    result = read_page(page(head=PAGE_HEAD), URL, feed_published, now=NOW, byline=byline)
    assert result is not None
    assert (result.author, result.published) == (
        "Page Author",
        datetime(2024, 3, 9, 10, tzinfo=UTC),
    )


def test_a_walled_article_page_takes_the_entry_metadata() -> None:
    walled = (
        "<!doctype html><html lang='en'><head><title>Walled | Daily</title>"
        "<meta property='og:type' content='article'>"
        + TIME_META.format("2024-03-09T10:00:00Z")
        + "</head><body><article><h1>Walled</h1><p>Subscribe to read.</p></article></body></html>"
    )
    link = "https://www.example.com/news/2024/03/walled-article-title"
    byline = Byline("Walled article title", "Entry Author")
    result = read_page(walled, link, ENTRY_DATE, now=NOW, link_url=link, byline=byline)
    assert result is not None and result.text == ""
    assert (result.title, result.author, result.published) == (
        "Walled article title",
        "Entry Author",
        ENTRY_DATE,
    )
    assert result.language == "en"


def test_the_extract_pipeline_follows_the_entry_metadata_setting() -> None:
    from scrapy.utils.test import get_crawler

    from crawler.items import Article
    from pipelines.extract import ExtractPipeline

    def item() -> Article:
        return Article(
            source="s",
            url=URL,
            html=page(head=PAGE_HEAD),
            feed_title="Budget approved",
            feed_author="Entry Author",
            feed_published=ENTRY_DATE,
        )

    stats = get_crawler().stats
    on = asyncio.run(ExtractPipeline(stats, None, entry_metadata=True).process_item(item()))
    off = asyncio.run(ExtractPipeline(stats, None, entry_metadata=False).process_item(item()))
    assert (on.author, on.published) == ("Entry Author", ENTRY_DATE)
    assert (off.author, off.published) == ("Page Author", datetime(2024, 3, 9, 10, tzinfo=UTC))
    assert on.text == off.text
