"""crawler.text.languages: one language-code rule for pages, feeds, sitemaps, sources and the
detector.

The values are the ones found in the wild: BCP 47 tags (RFC 5646) in `<html lang>` and RSS
`<language>`, POSIX locales in `og:locale`, ISO 639-2 codes in Google News sitemaps'
`<news:language>` (its documentation allows "an ISO 639 language code (2 or 3 letters)"), the
withdrawn ISO 639-1 codes Java's Locale still writes, ISO 639-3 codes from the detector.
"""

from __future__ import annotations

import pytest

from crawler.config.files import ConfigError, load_config
from crawler.extract.page import extract_article
from crawler.sources.feeds import parse_feed
from crawler.sources.sitemaps import parse_sitemap
from crawler.text.languages import language_code


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("en", "en"),
        ("EN", "en"),
        (" de ", "de"),
        # BCP 47 (RFC 5646 §2.1): region, script and variant subtags are dropped.
        ("en-US", "en"),
        ("pt-BR", "pt"),
        ("zh-Hant-TW", "zh"),
        ("sr-Latn-RS", "sr"),
        ("de-CH-1996", "de"),
        # og:locale and POSIX locales use "_" and may carry a charset.
        ("fr_FR", "fr"),
        ("en_US.UTF-8", "en"),
        # HTTP Content-Language (RFC 9110 §8.5) lists languages: the first is the main one.
        ("es, en", "es"),
        # ISO 639-2/T and /B codes (news:language allows three letters).
        ("eng", "en"),
        ("deu", "de"),
        ("ger", "de"),
        ("fra", "fr"),
        ("fre", "fr"),
        ("heb", "he"),
        ("ukr", "uk"),
        # ISO 639-1 codes withdrawn in 1989-2008 that Java and old CMSs still write.
        ("iw", "he"),
        ("in", "id"),
        ("ji", "yi"),
        ("jw", "jv"),
        ("mo", "ro"),
        ("in-ID", "id"),
        # ISO 639-3 individual languages of a macrolanguage with a 639-1 code (the detector
        # reports ary, arz, yue, wuu, sdh...).
        ("arb", "ar"),
        ("ary", "ar"),
        ("cmn", "zh"),
        ("yue", "zh"),
        ("sdh", "ku"),
        # Members of a macrolanguage that have a 639-1 code of their own keep it.
        ("id", "id"),
        ("nb", "nb"),
        ("sr", "sr"),
        ("tl", "tl"),
    ],
)
def test_language_code(value: str, code: str) -> None:
    assert language_code(value) == code


@pytest.mark.parametrize(
    "value",
    [
        "US",  # a country where a language belongs (RSS feeds do it)
        "xx",
        "english",
        "utf-8",  # a charset in Content-Language (seen on people.cn)
        "und",  # RFC 5646: undetermined
        "zxx",  # no linguistic content
        "mul",
        "qaa",  # private use
        "x-default",  # hreflang's fallback, not a language
        "i-klingon",
        "gsw",  # Swiss German: ISO 639-3 only
        "fil",  # Filipino: ISO 639-2 only
        "C",
        "",
        "  ",
        None,
        5,
    ],
)
def test_language_code_is_null_for_anything_else(value: object) -> None:
    assert language_code(value) is None


# --- every source of a language uses the rule ---

_SOURCES_YAML = "sources:\n  - {{name: a, url: 'https://e.org/feed', language: {language}}}\n"


@pytest.mark.parametrize(("declared", "code"), [("eng", "en"), ("iw", "he"), ("pt-BR", "pt")])
def test_feed_language_uses_the_rule(declared: str, code: str) -> None:
    body = f"<rss version='2.0'><channel><language>{declared}</language></channel></rss>"
    assert parse_feed(body.encode(), "https://e.org/feed").language == code


@pytest.mark.parametrize(("declared", "code"), [("eng", "en"), ("iw", "he"), ("xyz", None)])
def test_sitemap_language_hint_uses_the_rule(declared: str, code: str | None) -> None:
    # Before: any two or three letters passed, so "iw" and "eng" reached the store.
    body = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url>'
        "<loc>https://e.org/a</loc><news:news><news:publication><news:name>E</news:name>"
        f"<news:language>{declared}</news:language></news:publication></news:news></url></urlset>"
    )
    (entry,) = parse_sitemap(body.encode(), "https://e.org/sitemap.xml").entries
    assert entry.language == code


def test_page_language_uses_the_rule() -> None:
    # A declared language wins over detection: "deu" must be read as German, not skipped
    # for the detector's English.
    words = " ".join(["The council met on Monday to discuss the budget for next year."] * 8)
    html = f'<html lang="deu"><head><title>T</title></head><body><p>{words}</p></body></html>'
    result = extract_article(html, "https://e.org/a")
    assert result is not None and result.language == "de"


@pytest.mark.parametrize(("declared", "code"), [("eng", "en"), ("iw", "he"), ("FR-ca", "fr")])
def test_source_language_uses_the_rule(tmp_path, declared: str, code: str) -> None:
    (tmp_path / "sources.yaml").write_text(_SOURCES_YAML.format(language=declared))
    (tmp_path / "topics.yaml").write_text("topics: []\n")
    (source,) = load_config(tmp_path).sources
    assert source.language == code


def test_source_language_that_is_no_language_is_refused(tmp_path) -> None:
    (tmp_path / "sources.yaml").write_text(_SOURCES_YAML.format(language="english"))
    (tmp_path / "topics.yaml").write_text("topics: []\n")
    with pytest.raises(ConfigError, match="field 'language': not a language code"):
        load_config(tmp_path)
