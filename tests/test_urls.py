"""URL canonicalization and address checks."""

from __future__ import annotations

import pytest

from crawler.urls import canonicalize, is_public_address, same_site


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
    "url", ["ftp://x.com/a", "javascript:alert(1)", "/relative/path", "mailto:a@b.c", "http://"]
)
def test_canonicalize_refuses_non_http(url: str) -> None:
    with pytest.raises(ValueError):
        canonicalize(url)


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
