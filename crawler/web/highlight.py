"""Rendering scraped text safely: matched terms highlighted, everything else escaped, and
links that only ever point to http(s).

Highlighting follows the tagging rules exactly (crawler/terms.py: case and accents, capitals,
whole words, `*` prefixes, phrases), so what is marked is what tagged the article.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from markupsafe import Markup, escape

# The matcher's own parsing and comparison of words, so that highlighting cannot drift from
# tagging; terms.py exposes no span-finding API.
from crawler.terms import TermError, _parse, _strip_accents, _word_matches

_WORD = re.compile(r"\w+")


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


def term_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of `text` where one of `terms` matches, merged, in order."""
    parsed = []
    for term in dict.fromkeys(terms):
        try:
            parsed.append(_parse(term))
        except TermError:
            continue
    if not parsed or not text:
        return []
    words = []
    for match in _WORD.finditer(text):
        exact = _strip_accents(match.group())
        words.append((match.start(), match.end(), exact, exact.casefold()))
    spans: list[tuple[int, int]] = []
    for i in range(len(words)):
        for term in parsed:
            end = i + len(term) - 1
            if end < len(words) and all(
                _word_matches(word, words[j][2], words[j][3]) for j, word in enumerate(term, i)
            ):
                spans.append((words[i][0], words[end][1]))
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return merged


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
