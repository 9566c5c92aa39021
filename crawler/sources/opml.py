"""OPML import and export: feed subscriptions in and out of feed readers.

config → schedule → spiders → `Article` item → pipelines → store → review. OPML sits beside
config: `newsmon sources import FILE.opml` turns the subscriptions a feed reader exported
(Feedly, Inoreader, NetNewsWire, Miniflux...) into feed sources with `parse_opml`, and
`newsmon sources export` writes the configured feeds back with `write_opml` so a reader can
follow the same outlets. Pure: bytes in, bytes out.

Reading: every `<outline>` with an `xmlUrl` is a feed, whatever its `type`; the outlines that
enclose it are its category, joined with "/" ("Defense/France"); an outline's `title`, else its
`text`, is its name. Only http(s) feeds are kept (`feed://` is read as http), the first of each
`xmlUrl`. The XML parser never touches the network, loads no DTD and expands no entities; a
body that is not well-formed OPML raises `OpmlError`: a one-time import by a person is better
stopped with the line to fix than half done silently.

Writing gives OPML 2.0 in UTF-8, categories as nested outlines, and reads back as the same
feeds (titles are whitespace-collapsed on the way in, so a title is compared in that form).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from crawler.errors import OpmlError
from crawler.sources.safe_xml import SAFE_XML_OPTIONS

__all__ = ["read_opml", "OpmlError", "OpmlFeed", "parse_opml", "write_opml"]

_MAX_FEEDS = 10_000
_MAX_SKIPPED_LINES = 1_000
# Characters XML 1.0 cannot hold even escaped (C0 controls but tab, newline, carriage return).
_NOT_XML = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF])


@dataclass(frozen=True)
class OpmlFeed:
    title: str | None  # whitespace collapsed; None when the outline names only its URL
    xml_url: str  # absolute http(s)
    html_url: str | None = None  # the site's home page, when given and http(s)
    category: str | None = None  # enclosing outlines' names joined with "/", outermost first


def parse_opml(body: bytes, max_feeds: int = _MAX_FEEDS) -> list[OpmlFeed]:
    """The feeds of an OPML subscription list, in document order, one per `xmlUrl`.

    At most `max_feeds`; raises only `OpmlError`.
    """
    return read_opml(body, max_feeds)[0]


def read_opml(body: bytes, max_feeds: int = _MAX_FEEDS) -> tuple[list[OpmlFeed], list[str]]:
    """The feeds of an OPML subscription list, and a line for each outline with an `xmlUrl`
    that is not among them, saying why (not http(s), listed twice, over `max_feeds`)."""
    if not body or not body.strip():
        raise OpmlError("not an OPML file: empty")
    parser = etree.XMLParser(**SAFE_XML_OPTIONS)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        head = body[:2048].lower()
        if b"<html" in head or b"<!doctype html" in head:
            raise OpmlError("not an OPML file: looks like an HTML page") from None
        raise OpmlError(_clip(f"not well-formed XML: line {exc.lineno}: {exc.msg}")) from None
    if root is None or _local_name(root.tag) != "opml":
        name = _local_name(root.tag) if root is not None else ""
        raise OpmlError(f"not an OPML file: root element <{name}>, expected <opml>")
    outline_body = next((child for child in root if _local_name(child.tag) == "body"), None)
    if outline_body is None:
        raise OpmlError("not an OPML file: no <body> element")

    feeds: list[OpmlFeed] = []
    skipped: list[str] = []
    over = 0  # feeds beyond max_feeds: counted, not listed (a hostile file may hold millions)
    seen: set[str] = set()
    # Depth-first, in document order, without recursion: (element, its category path).
    stack: list[tuple[etree._Element, tuple[str, ...]]] = [
        (child, ()) for child in reversed(outline_body)
    ]
    while stack:
        element, path = stack.pop()
        if _local_name(element.tag) != "outline":
            continue
        attributes = {str(name).lower(): value for name, value in element.attrib.items()}
        xml_url = _feed_url(attributes.get("xmlurl"))
        name = _clean(attributes.get("title")) or _clean(attributes.get("text"))
        if attributes.get("xmlurl") is None:
            # A folder. An unnamed one adds no level; a named one, its name.
            inner = (*path, name) if name else path
        else:
            inner = path
            label = repr(name or attributes.get("xmlurl"))
            if xml_url is None:
                given = _clip(repr(attributes.get("xmlurl")))
                skipped.append(f"{label}: xmlUrl is not an http(s) URL: {given}")
            elif xml_url in seen:
                skipped.append(f"{label}: {xml_url} is listed twice")
            elif len(feeds) >= max_feeds:
                over += 1
            else:
                seen.add(xml_url)
                feeds.append(
                    OpmlFeed(
                        title=None if name == xml_url else name,
                        xml_url=xml_url,
                        html_url=_http_url(attributes.get("htmlurl")),
                        category="/".join(path) or _category_attribute(attributes),
                    )
                )
        stack.extend((child, inner) for child in reversed(element))
    if over:
        skipped.append(f"{over} more feed(s): over the limit of {max_feeds} feeds per file")
    return feeds, skipped[:_MAX_SKIPPED_LINES]


def write_opml(feeds: Iterable[OpmlFeed], title: str) -> bytes:
    """An OPML 2.0 document (UTF-8) listing `feeds` under their categories, in the given order.

    A category "A/B" becomes an outline "B" inside an outline "A" (consecutive feeds of one
    category share it; a category that comes back later gets a second outline of the same
    name, which readers merge, so that order survives the round trip); a feed without a title is
    named by its URL in `text` (OPML requires one) and has no `title`, so it reads back with
    `title=None`.
    """
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = _xml_safe(title)
    body = etree.SubElement(opml, "body")
    for feed in feeds:
        parent = body
        for name in (feed.category or "").split("/"):
            name = _xml_safe(" ".join(name.split()))
            if not name:
                continue
            # Reuse the folder only when it is the last thing written at this level, so the
            # feeds read back in the given order even when a category comes back later.
            last = parent[-1] if len(parent) else None
            if last is not None and last.get("xmlUrl") is None and last.get("text") == name:
                parent = last
            else:
                parent = etree.SubElement(parent, "outline", text=name, title=name)
        outline = etree.SubElement(parent, "outline", type="rss")
        if feed.title:
            outline.set("text", _xml_safe(feed.title))
            outline.set("title", _xml_safe(feed.title))
        else:
            outline.set("text", _xml_safe(feed.xml_url))
        outline.set("xmlUrl", _xml_safe(feed.xml_url))
        if feed.html_url:
            outline.set("htmlUrl", _xml_safe(feed.html_url))
    return etree.tostring(opml, encoding="UTF-8", xml_declaration=True, pretty_print=True)


# --- details ---


def _feed_url(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if value.lower().startswith("feed://"):  # the old "subscribe in a reader" scheme
        value = "http://" + value[len("feed://") :]
    elif value.lower().startswith("feed:"):  # feed:https://example.com/rss
        value = value[len("feed:") :]
    return _http_url(value)


def _http_url(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    try:
        parts = urlsplit(value)
        if parts.scheme.lower() in ("http", "https") and parts.hostname:
            return value
    except ValueError:  # an unclosed IPv6 bracket, say
        pass
    return None


def _category_attribute(attributes: dict[str, str]) -> str | None:
    # OPML 2.0's own field: comma-separated, slash-delimited paths ("/Defense/France,/News").
    first = (attributes.get("category") or "").split(",", 1)[0]
    parts = [" ".join(part.split()) for part in first.split("/")]
    return "/".join(part for part in parts if part) or None


def _local_name(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    return " ".join(value.split()) or None


def _xml_safe(text: str) -> str:
    return text.translate(_NOT_XML)


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
