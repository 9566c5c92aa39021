"""An Atom 1.0 feed (RFC 4287) of a topic's hits, newest first, for any feed reader.

Built with ElementTree, which escapes text and attributes; characters that XML 1.0 forbids
(control characters from scraped pages) are dropped first, since escaping cannot save them.
Ids are stable `urn:uuid:` names derived from the topic and from each article's canonical URL,
so a reader never shows an article twice when the server moves.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from crawler.review.web.highlight import safe_href

__all__ = ["atom_feed"]

ATOM = "http://www.w3.org/2005/Atom"
SUMMARY_CHARS = 600
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def _add(
    parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str
) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag, {k: _clean(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def _summary(record: dict[str, Any]) -> str:
    terms = "; ".join(f"{topic}: {', '.join(found)}" for topic, found in record["matches"].items())
    text = " ".join((record["text"] or "").split())
    if len(text) > SUMMARY_CHARS:
        text = text[:SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"
    return f"{record['source']} · matched {terms}\n\n{text}" if terms else text


def atom_feed(
    topic: str,
    description: str,
    records: Sequence[dict[str, Any]],
    self_url: str,
    list_url: str,
    article_url: Callable[[int], str],
) -> bytes:
    """The feed of `records` (export records, newest first) for `topic`."""
    feed = ElementTree.Element("feed", {"xmlns": ATOM})  # unqualified children inherit it
    _add(feed, "id", uuid.uuid5(uuid.NAMESPACE_URL, f"newsmon:topic:{topic}").urn)
    _add(feed, "title", f"newsmon: {topic}")
    if description:
        _add(feed, "subtitle", description)
    newest = max((r["fetched_at"] for r in records), default=None)
    _add(feed, "updated", newest or datetime.now(UTC).isoformat())
    _add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _add(feed, "link", rel="alternate", type="text/html", href=list_url)
    author = _add(feed, "author")
    _add(author, "name", "newsmon")
    _add(feed, "generator", "newsmon")
    for record in records:
        entry = _add(feed, "entry")
        _add(entry, "id", uuid.uuid5(uuid.NAMESPACE_URL, record["url"]).urn)
        _add(entry, "title", record["title"] or record["url"], type="text")
        _add(entry, "updated", record["fetched_at"])
        if record["published"]:
            _add(entry, "published", record["published"])
        if record["author"]:
            _add(_add(entry, "author"), "name", record["author"])
        original = safe_href(record["url"])
        if original:
            _add(entry, "link", rel="alternate", type="text/html", href=original)
        _add(entry, "link", rel="related", type="text/html", href=article_url(record["id"]))
        for name in record["topics"]:
            _add(entry, "category", term=name)
        review = record.get("review") or {}
        for mark in (review.get("verdict"), "starred" if review.get("starred") else None):
            if mark:
                _add(entry, "category", term=mark, scheme="urn:newsmon:review")
        _add(entry, "summary", _summary(record), type="text")
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
