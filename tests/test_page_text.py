"""Decoding article pages: declared legacy encodings, and UTF-8 pages that declare otherwise."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse

from crawler.spiders.base import page_text

TEXT = "Sécurité nationale : l'armée française et l'IA — 人工智能"


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        # Declared legacy encodings come out as correct Unicode.
        (
            "<p>Sécurité à l'été</p>".encode("iso-8859-1"),
            {"Content-Type": "text/html; charset=iso-8859-1"},
            "Sécurité à l'été",
        ),
        ('<meta charset="windows-1252"><p>“quotes” – €</p>'.encode("cp1252"), {}, "“quotes” – €"),
        # A UTF-8 page whose template still declares a legacy charset.
        (f'<meta charset="gb2312"><p>{TEXT}</p>'.encode(), {}, TEXT),
        (f"<p>{TEXT}</p>".encode(), {"Content-Type": "text/html; charset=ISO-8859-1"}, TEXT),
        (b"\xef\xbb\xbf" + f"<p>{TEXT}</p>".encode(), {}, TEXT),
    ],
)
def test_page_text(body: bytes, headers: dict[str, str], expected: str) -> None:
    response = HtmlResponse("https://example.org/a", body=body, headers=headers)
    text = page_text(response)
    assert expected in text
    assert not text.startswith("\ufeff")
