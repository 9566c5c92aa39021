"""URL canonicalization and address checks.

Equivalences follow RFC 3986 §6.2.2 (syntax-based normalization) and §6.2.3 (scheme-based),
RFC 3987 §3.1 (IRI to URI) and the WHATWG URL Standard's basic URL parser for the
malformations browsers forgive; the URLs are shaped like the feed links they stand for.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crawler.text.urls import canonicalize, is_public_address, repair_url, same_site


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://Example.COM/a", "https://example.com/a"),
        ("HTTPS://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        # Tracking parameters go, in any case, whatever their position.
        ("https://x.com/a?utm_source=rss&utm_medium=feed&utm_campaign=c", "https://x.com/a"),
        ("https://x.com/a?UTM_Source=rss", "https://x.com/a"),
        ("https://x.com/a?fbclid=IwAR0&id=7", "https://x.com/a?id=7"),
        ("https://x.com/a?id=7&gclid=abc", "https://x.com/a?id=7"),
        ("https://x.com/a?mc_cid=1&mc_eid=2", "https://x.com/a"),
        ("https://x.com/a?msclkid=1&_ga=2&pk_campaign=3&mtm_source=4", "https://x.com/a"),
        # Meaningful query is kept as written, in its order.
        ("https://x.com/article.php?id=42&page=2", "https://x.com/article.php?id=42&page=2"),
        ("https://x.com/a?page=2&id=42", "https://x.com/a?page=2&id=42"),
        ("https://x.com/?p=123", "https://x.com/?p=123"),
        ("https://x.com/?123", "https://x.com/?123"),
        ("https://x.com/s?q=a%20b", "https://x.com/s?q=a%20b"),
        ("https://x.com/a?", "https://x.com/a"),
        ("https://x.com/a?&utm_source=x&", "https://x.com/a"),
        ("  https://x.com/a  ", "https://x.com/a"),
        ("http://[::1]:8080/a", "http://[::1]:8080/a"),
    ],
)
def test_canonicalize(url: str, canonical: str) -> None:
    assert canonicalize(url) == canonical


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # RFC 3986 §6.2.2.1: percent-encoding hex digits are case-insensitive (WordPress writes
        # lowercase, most others uppercase).
        (
            "https://www.lemonde.example/actualit%c3%a9-ia/",
            "https://www.lemonde.example/actualit%C3%A9-ia/",
        ),
        ("https://x.example/s?q=caf%c3%a9&page=2", "https://x.example/s?q=caf%C3%A9&page=2"),
        # §6.2.2.2: percent-encoded unreserved characters are the characters.
        ("https://x.example/%7Ejdoe/notes", "https://x.example/~jdoe/notes"),
        ("https://x.example/%41rticle-%31%32", "https://x.example/Article-12"),
        ("https://x.example/a%2Db%5Fc%2Ed", "https://x.example/a-b_c.d"),
        ("https://x.example/a?tag=%7Eai", "https://x.example/a?tag=~ai"),
        # RFC 3987 §3.1: an IRI's non-ASCII characters are their UTF-8 percent-encoding, in
        # path and query (French and German slugs; a search link with a space).
        (
            "https://www.lemonde.example/actualité-ia/",
            "https://www.lemonde.example/actualit%C3%A9-ia/",
        ),
        (
            "https://www.zeit.example/digital/künstliche-intelligenz-bundeswehr",
            "https://www.zeit.example/digital/k%C3%BCnstliche-intelligenz-bundeswehr",
        ),
        (
            "https://www.spiegel.example/suche?q=Drohnen Abwehr&s=ö",
            "https://www.spiegel.example/suche?q=Drohnen%20Abwehr&s=%C3%B6",
        ),
        ("https://x.example/a|b", "https://x.example/a%7Cb"),
        # An internationalized host is its IDNA 2008 (UTS #46) A-label.
        ("https://bücher.de/neu", "https://xn--bcher-kva.de/neu"),
        ("https://BÜCHER.de/neu", "https://xn--bcher-kva.de/neu"),
        ("https://straße.de/", "https://xn--strae-oqa.de/"),  # IDNA 2003 would say strasse.de
        # §6.2.2.3: dot segments; §6.2.3: an empty path is "/".
        ("https://x.example/a/../a/b", "https://x.example/a/b"),
        ("https://x.example/news/./2026/ai", "https://x.example/news/2026/ai"),
        ("https://x.example/../../a", "https://x.example/a"),
        ("https://x.example/a/%2E%2E/b", "https://x.example/b"),
        ("http://x.example?p=1", "http://x.example/?p=1"),
        # Source markers: ref, xtor (AT Internet, French outlets), Echobox, smid (NYT)...
        ("https://x.example/a?ref=rss", "https://x.example/a"),
        ("https://x.example/a?ref=hp&id=7", "https://x.example/a?id=7"),
        ("https://www.lemonde.example/a.html?xtor=RSS-3208", "https://www.lemonde.example/a.html"),
        ("https://x.example/a?Echobox=1700000000", "https://x.example/a"),
        ("https://x.example/a?smid=tw-share&CMP=share_btn_tw", "https://x.example/a"),
        ("https://x.example/a?itm_source=homepage&ysclid=l1k2", "https://x.example/a"),
        ("https://x.example/a?ns_mchannel=social&ns_source=twitter", "https://x.example/a"),
        # Malformed feed links, repaired as a browser reads them.
        ("http://http://www.example.org/2026/ai", "http://www.example.org/2026/ai"),
        ("http://https://www.example.org/2026/ai", "https://www.example.org/2026/ai"),
        ("http:/www.example.org/2026/ai", "http://www.example.org/2026/ai"),
        ("http:\\\\www.example.org\\2026\\ai", "http://www.example.org/2026/ai"),
        ("https:///www.example.org/a", "https://www.example.org/a"),
        ("\n  https://www.example.org/2026/ai \t\n", "https://www.example.org/2026/ai"),
        ("https://www.example.org/2026/\nai", "https://www.example.org/2026/ai"),
        ("\u00a0https://www.example.org/a\u00a0", "https://www.example.org/a"),
    ],
)
def test_equivalent_urls_canonicalize_equal(a: str, b: str) -> None:
    assert canonicalize(a) == canonicalize(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Reserved characters and their percent-encoding differ (RFC 3986 §2.2).
        ("https://x.example/a,b", "https://x.example/a%2Cb"),
        ("https://x.example/a/b", "https://x.example/a%2Fb"),
        ("https://x.example/s?q=a%26b", "https://x.example/s?q=a&b"),
        # Path case, query order, "+" against "%20", a bare name against an empty value.
        ("https://x.example/Article", "https://x.example/article"),
        ("https://x.example/a?x=1&y=2", "https://x.example/a?y=2&x=1"),
        ("https://x.example/s?q=a+b", "https://x.example/s?q=a%20b"),
        ("https://x.example/?123", "https://x.example/?123="),
        # Latin-1 bytes are not the UTF-8 of the same character.
        ("https://x.example/caf%E9", "https://x.example/café"),
        # Parameters that select content stay, even when named like a tracker.
        ("https://x.example/a?source=reuters", "https://x.example/a"),
        ("https://x.example/a?id=1", "https://x.example/a"),
        ("https://x.example/a?reference=3", "https://x.example/a"),
    ],
)
def test_different_urls_stay_different(a: str, b: str) -> None:
    assert canonicalize(a) != canonicalize(b)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://x.example/a,b;c=1?q=%2C", "https://x.example/a,b;c=1?q=%2C"),
        ("https://x.example/100%", "https://x.example/100%25"),  # a % that starts no escape
        ("https://x.example/%e2%82%ac", "https://x.example/%E2%82%AC"),
        ("https://x.example/a/./b/.", "https://x.example/a/b/"),
        ("https://x.example/a/..", "https://x.example/"),
        ("https://münchen.de./Stadt", "https://xn--mnchen-3ya.de/Stadt"),
        ("https://i❤.ws/a", "https://xn--i-7iq.ws/a"),  # refused by IDNA 2008, read by browsers
    ],
)
def test_canonical_form(url: str, canonical: str) -> None:
    assert canonicalize(url) == canonical


@pytest.mark.parametrize(
    ("link", "repaired"),
    [
        ("http:/www.example.org/a", "http://www.example.org/a"),
        ("HTTP://http://www.example.org/a", "http://www.example.org/a"),
        ("http:\\\\www.example.org\\a?b=\\", "http://www.example.org/a?b=\\"),
        (" /relative/path \n", "/relative/path"),
        ("mailto:a@example.org", "mailto:a@example.org"),
    ],
)
def test_repair_url(link: str, repaired: str) -> None:
    # Before urljoin: with a base on the same scheme, "http:/host/a" would be a path there.
    assert repair_url(link) == repaired


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x.com/a",
        "javascript:alert(1)",
        "/relative/path",
        "mailto:a@b.c",
        "http://",
        "https://exa mple.com/a",
        "https://exa<mple.com/",
    ],
)
def test_canonicalize_refuses_non_http(url: str) -> None:
    with pytest.raises(ValueError):
        canonicalize(url)


# --- properties over generated URLs ---

_HOSTS = st.sampled_from(
    [
        "example.org",
        "WWW.Example.ORG",
        "bücher.de",
        "xn--bcher-kva.de",
        "127.0.0.1",
        "[::1]",
        "news.example.",
        "straße.de",
        "例え.テスト",
    ]
)
# Characters that make canonicalization work: escapes and stray %, dots, slashes and
# backslashes, reserved and forbidden ASCII, non-ASCII letters, spaces, tracker names.
_PIECES = st.sampled_from(
    [
        "%",
        "%2e",
        "%2E",
        "%7e",
        "%41",
        "%c3%a9",
        "%2C",
        "%2F",
        "%25",
        ".",
        "..",
        "/",
        "\\",
        "é",
        "ü",
        "ß",
        "€",
        "日本",
        " ",
        "+",
        ",",
        ";",
        "=",
        "&",
        "?",
        "#",
        "|",
        "{",
        '"',
        "a",
        "Z",
        "utm_source=x",
        "ref=rss",
        "id=1",
        "\t",
        "\n",
    ]
)
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=3)), max_size=12).map("".join)


@st.composite
def _urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "hTTps"]))
    slashes = draw(st.sampled_from(["://", ":/", ":\\\\", "://http://", ":///"]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    return f"{scheme}{slashes}{draw(_HOSTS)}{port}/{draw(_TEXT)}"


@given(_urls())
@example("http://x.example/a/%2e%2E/%2E/b?q=%7e&ref=1#top")
@example("https://x.example/%25%32%65/a")  # %25 stays: "%2e" after one decoding is not a dot
def test_canonicalization_is_idempotent(url: str) -> None:
    try:
        canonical = canonicalize(url)
    except ValueError:
        return  # generated junk may name no valid host or port; idempotence is about URLs
    assert canonicalize(canonical) == canonical
    assert canonical.isascii() and " " not in canonical


@given(st.sampled_from(["http://", "https:", "HTTP:\\\\", "http://http://"]), st.text(max_size=40))
def test_canonicalization_is_idempotent_on_any_text(prefix: str, rest: str) -> None:
    try:
        canonical = canonicalize(prefix + rest)
    except ValueError:
        return  # not a URL with a valid host
    assert canonicalize(canonical) == canonical


# A lone surrogate has no UTF-8 form, so no URI spells it: IRIs are made of characters.
@given(
    _HOSTS,
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="%?#\\\t\n\r"), max_size=20),
)
def test_an_iri_and_its_uri_canonicalize_equal(host: str, path: str) -> None:
    """RFC 3987 §3.1: the IRI's characters, UTF-8 percent-encoded, are the same resource."""
    # The path ends inside the URL: surrounding whitespace is trimmed from a whole URL.
    iri = f"https://{host}/{path}/end"
    uri = f"https://{host}/" + quote(path, safe="/:@!$&'()*+,;=[]~") + "/end"
    try:
        expected = canonicalize(uri)
    except ValueError:
        return
    assert canonicalize(iri) == expected


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://x.com/a", "https://x.com/b", True),
        ("https://www.x.com/a", "https://x.com/b", True),
        ("https://amp.x.com/a", "https://www.x.com/b", False),
        ("https://x.com/a", "https://evil.com/x.com", False),
        ("https://notx.com/a", "https://x.com/a", False),
    ],
)
def test_same_site(a: str, b: str, same: bool) -> None:
    assert same_site(a, b) is same


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.0.0.8", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata service
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public
