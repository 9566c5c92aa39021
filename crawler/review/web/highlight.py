"""Rendering scraped text safely: matched terms highlighted, everything else escaped, and
links that only ever point to http(s).

The marked spans come from `Matcher.match` itself (`Matches.spans`), the function that tagged
the article: case and accents, capitals, whole words, `*` prefixes, phrases and exceptions
("defense" in "cyber defense" is not marked where `except` cancels it), so what is marked is
what tagged the article.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from crawler.match.terms import Matcher, TopicRule
from crawler.text.urls import safe_href

__all__ = ["highlight", "marked", "paragraphs", "safe_href"]


def marked(
    matcher: Matcher, title: str | None, text: str | None, stored: Mapping[str, Sequence[str]]
) -> tuple[Markup, list[Markup]]:
    """The title and the text's paragraphs, escaped, with the matches of the article's
    `stored` topics (topic -> terms) in <mark>, matched by `matcher` as in a crawl. A stored
    topic `matcher` does not know (topics.yaml changed since) marks its stored terms."""
    unknown = [
        TopicRule(name, any=tuple(terms))
        for name, terms in stored.items()
        if name not in matcher.topics
    ]
    if unknown:
        matcher = Matcher([*(r for r in matcher.rules if r.name not in stored), *unknown])
    found = matcher.match(title, text)
    return (
        highlight(title, found.spans("title", stored)),
        paragraphs(text, found.spans("text", stored)),
    )


def highlight(text: str | None, spans: Sequence[tuple[int, int]]) -> Markup:
    """`text` escaped, with its character `spans` (merged, in order) in <mark>."""
    if not text:
        return Markup("")
    out, position = [], 0
    for start, stop in spans:
        out += [
            escape(text[position:start]),
            Markup("<mark>"),
            escape(text[start:stop]),
            Markup("</mark>"),
        ]
        position = stop
    out.append(escape(text[position:]))
    return Markup("").join(out)


def paragraphs(text: str | None, spans: Sequence[tuple[int, int]]) -> list[Markup]:
    """The text as highlighted paragraphs (one per non-empty line); `spans` are character
    spans of the whole text, a span across lines marked in each."""
    out, offset = [], 0
    for line in (text or "").splitlines(keepends=True):
        content = line.splitlines()[0]  # without its line break, whichever it is
        end = offset + len(content)
        if content.strip():
            inside = [
                (max(a, offset) - offset, min(b, end) - offset)
                for a, b in spans
                if a < end and b > offset
            ]
            out.append(highlight(content, inside))
        offset += len(line)
    return out
