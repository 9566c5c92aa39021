"""Rendering scraped text safely: matched terms highlighted, everything else escaped, and
links that only ever point to http(s).

Highlighting follows the tagging rules exactly (crawler/terms.py: case and accents, capitals,
whole words, `*` prefixes, phrases), so what is marked is what tagged the article.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from crawler.terms import term_spans


def safe_href(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL, else None: scraped links are hostile
    (javascript:, data:, vbscript: ...)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def highlight(text: str | None, terms: Iterable[str]) -> Markup:
    """`text` escaped, with the matches of `terms` in <mark>."""
    if not text:
        return Markup("")
    out, position = [], 0
    for start, stop in term_spans(text, terms):
        out += [escape(text[position:start]), Markup("<mark>"), escape(text[start:stop]),
                Markup("</mark>")]  # fmt: skip
        position = stop
    out.append(escape(text[position:]))
    return Markup("").join(out)


def paragraphs(text: str | None, terms: Iterable[str]) -> list[Markup]:
    """The article text as highlighted paragraphs (one per non-empty line)."""
    terms = list(terms)
    return [highlight(line, terms) for line in (text or "").splitlines() if line.strip()]
