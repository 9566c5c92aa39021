"""Listing pages: which links of a front or section page are articles, and where its next page is.

config → schedule → spiders (**listings**) → `Article` item → pipelines → store → review. The
listings spider downloads a source's page (and up to `pages: N` more through `next_page`),
hands each one to `article_links` and requests the links it returns, as the feeds spider does
with feed entries. Pure: no Scrapy, no network, no files.

With a `follow` pattern, the source's author decides: a link is an article when its absolute URL
matches `follow` (`re.search`) and not `deny`. Without one, a heuristic decides: the URL must
look like an article (`crawler.text.article_urls`: a slug of three or more words, a date
followed by more path, a numeric id of five or more digits, or a `.html` page with a two-word
name), must not be a navigation, tag, category, author, subscribe, login, search or
pagination address, and must not sit in the
page's chrome (`<nav>`, `<aside>`, a `<header>` or `<footer>` outside an `<article>`, or their
ARIA roles). Either way: http(s) only, same site (the page's host and its subdomains, `www.`
ignored) unless `allow_domains` names the hosts instead, one link per URL, in page order.

Hostile pages (tens of thousands of links, deep nesting) cost one parse by libxml2, one pass
over the links and one over the chrome containers; the result is capped at `max_links` and says
so with `truncated`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

from lxml import etree

from crawler.text.article_urls import NOT_ARTICLE_RELS, looks_like_article
from crawler.text.urls import canonicalize

__all__ = [
    "ListingLinks",
    "article_links",
    "document_base",
    "on_site",
    "parse_html",
    "site_hosts",
]


@dataclass(frozen=True)
class ListingLinks:
    links: list[str] = field(default_factory=list)  # absolute, fragment dropped, page order
    next_page: str | None = None  # the page after this one, same site, never this page
    truncated: bool = False  # more than max_links article links were on the page
    # link -> its anchor text, if any (not compared: the links are what a listing is)
    titles: dict[str, str] = field(default_factory=dict, compare=False)


def article_links(
    html: str,
    page_url: str,
    follow: str | re.Pattern[str] | None = None,
    deny: str | re.Pattern[str] | None = None,
    allow_domains: list[str] | None = None,
    max_links: int = 500,
) -> ListingLinks:
    """The article links of a listing page and its next page; `page_url` is where it was
    fetched from. Raises ValueError only for an invalid `follow` or `deny` pattern.
    """
    follow_re = _compile(follow, "follow")
    deny_re = _compile(deny, "deny")
    root = parse_html(html)
    if root is None:
        return ListingLinks()
    base = document_base(root, page_url)
    hosts = site_hosts(page_url, allow_domains)
    own_hosts = site_hosts(page_url)
    page_key = _key(page_url)

    chrome = _chrome_anchors(root) if follow_re is None else set()
    resolved: dict[str, tuple[str | None, SplitResult]] = {}
    links: list[str] = []
    titles: dict[str, str] = {}
    seen: set[str] = set()
    truncated = False
    next_page: str | None = None
    next_rank = 4  # worse than any rank _next_rank gives
    for element in root.iter("a", "link"):
        href = element.get("href") or ""
        if href not in resolved:
            resolved[href] = _resolve(href, base)
        url, parts = resolved[href]
        if url is None:
            continue
        allowed = _host_on_site(parts.hostname, hosts)
        if not allowed and not _host_on_site(parts.hostname, own_hosts):
            continue
        rels = _tokens(element.get("rel"))
        rank = _next_rank(element, element.tag, rels)
        if rank is not None:
            # The next page may be on the page's own site even when allow_domains names others.
            if rank < next_rank and _key(url) != page_key:
                next_page, next_rank = url, rank
            continue  # pagination is never an article
        if element.tag == "link" or not allowed:
            continue
        if follow_re is not None:
            wanted = follow_re.search(url) is not None
        else:
            wanted = (
                element not in chrome
                and not rels & NOT_ARTICLE_RELS
                and looks_like_article(parts)
                and not _is_page_number(element)
            )
        if not wanted or (deny_re is not None and deny_re.search(url)):
            continue
        key = _key(url)
        if key is None or key == page_key or key in seen:
            continue
        if len(links) >= max_links:
            truncated = True  # keep going: the next-page link is often at the very end
            continue
        seen.add(key)
        links.append(url)
        text = " ".join(" ".join(element.itertext()).split())[:300]
        if text:
            titles[url] = text
    return ListingLinks(links=links, next_page=next_page, truncated=truncated, titles=titles)


def parse_html(html: str) -> etree._Element | None:
    """The root element of an HTML document, or None when there is nothing to parse.

    libxml2's HTML parser, in recover mode, without network access: linear on malformed and
    hostile markup, where Python's html.parser is not.
    """
    if not html or html.isspace():
        return None
    parser = etree.HTMLParser(
        encoding="utf-8",  # str in; encoded here, so a stale <meta charset> cannot mislead it
        recover=True,
        no_network=True,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
        default_doctype=False,
    )
    try:
        root = etree.fromstring(html.encode("utf-8", errors="replace"), parser)
    except (etree.LxmlError, ValueError):
        return None
    return root


def document_base(root: etree._Element, page_url: str) -> str:
    """The URL relative links resolve against: the first `<base href>` when it is http(s)."""
    for base in root.iter("base"):
        href = base.get("href")
        if href:
            resolved, _ = _resolve(href, page_url)
            if resolved:
                return resolved
        break
    return page_url


def site_hosts(page_url: str, allow_domains: list[str] | None = None) -> tuple[str, ...]:
    """The hosts whose pages count as the source's own: `allow_domains` when given, else the
    page's host without `www.`; each host covers its subdomains."""
    if allow_domains:
        hosts = (domain.strip().strip(".").lower() for domain in allow_domains)
        return tuple(host for host in hosts if host)
    host = (urlsplit(page_url).hostname or "").rstrip(".")
    return (host.removeprefix("www."),) if host else ()


def on_site(url: str, hosts: tuple[str, ...]) -> bool:
    """True when the URL's host is one of `hosts` or a subdomain of one."""
    try:
        return _host_on_site(urlsplit(url).hostname, hosts)
    except ValueError:
        return False


# --- the heuristic ---


def _is_page_number(anchor: etree._Element) -> bool:
    text = _text(anchor)
    return text.isdigit() and len(text) <= 4


# --- pagination ---

# What a link to the next page says (its text, aria-label or title), lowercased.
_NEXT_WORDS = frozenset(
    {
        "next",
        "next page",
        "next posts",
        "older posts",
        "older entries",
        "older articles",
        "older",
        "more articles",
        "more stories",
        "load more",
        "show more",
        "suivant",
        "suivante",
        "page suivante",
        "articles suivants",
        "articles plus anciens",
        "plus d'articles",
        "weiter",
        "nächste",
        "nächste seite",
        "vor",
        "ältere beiträge",
        "ältere artikel",
        "mehr artikel",
        "mehr laden",
        "siguiente",
        "successivo",
        "volgende",
        "»",
        "›",
        "→",
        ">",
        ">>",
    }
)
_NEXT_CLASSES = frozenset(
    {
        "next",
        "next-page",
        "nextpage",
        "pagination-next",
        "pagination__next",
        "pager-next",
        "pager__item--next",
        "nextpostslink",
        "next-posts-link",
        "page-next",
    }
)
_ARROWS = "»›→>«‹←<"  # stripped around words: "Next »", "« Older Entries"


def _next_rank(element: etree._Element, tag: str, rels: frozenset[str]) -> int | None:
    """How sure we are that the element points at the next page, or None: 0 for <link
    rel=next>, 1 for <a rel=next>, 2 for a text or label that says so, 3 for a class name."""
    if "next" in rels:
        return 0 if tag == "link" else 1
    if tag != "a" or rels & {"prev", "previous"}:
        return None
    for label in (_text(element), element.get("aria-label"), element.get("title")):
        if label and _is_next_label(label):
            return 2
    if _tokens(element.get("class")) & _NEXT_CLASSES:
        return 3
    return None


def _is_next_label(label: str) -> bool:
    text = " ".join(label.lower().split())
    if len(text) > 40:
        return False
    if text in _NEXT_WORDS:
        return True
    trimmed = text.strip(_ARROWS + " .:")
    return bool(trimmed) and trimmed != text and trimmed in _NEXT_WORDS


_CHROME_TAGS = ("nav", "aside", "header", "footer")
_CHROME_ROLES = frozenset({"navigation", "complementary", "search"})
_PAGE_ROLES = frozenset({"banner", "contentinfo"})  # the ARIA names of a page header, footer
_WITH_ROLE = etree.XPath("//*[@role]")


def _chrome_anchors(root: etree._Element) -> set[etree._Element]:
    """The links in the page's chrome: navigation, sidebars, the page banner and footer.

    A <header> or <footer> inside an <article> is the teaser's own (its headline link lives
    there), not the page's.
    """
    anchors: set[etree._Element] = set()
    containers = list(root.iter(*_CHROME_TAGS)) + _WITH_ROLE(root)
    for container in containers:
        tag = container.tag
        role = (container.get("role") or "").strip().lower()
        if tag in ("header", "footer") or role in _PAGE_ROLES:
            if not (tag in ("nav", "aside") or role in _CHROME_ROLES) and _in_article(container):
                continue
        elif not (tag in ("nav", "aside") or role in _CHROME_ROLES):
            continue
        anchors.update(container.iter("a"))
    return anchors


def _in_article(element: etree._Element) -> bool:
    for ancestor in element.iterancestors():
        if ancestor.tag == "article" or (ancestor.get("role") or "").strip().lower() == "article":
            return True
    return False


# --- shared details ---


def _resolve(href: str | None, base: str) -> tuple[str | None, SplitResult]:
    """The absolute http(s) URL of a link, fragment dropped, and its parts; (None, _) for
    anything else."""
    if not href:
        return None, _NO_PARTS
    href = href.strip()
    if not href or href.startswith("#") or len(href) > 2048:
        return None, _NO_PARTS
    try:
        # urljoin costs three parses; most links on news pages are absolute already.
        absolute = href if href.startswith(("https://", "http://")) else urljoin(base, href)
        parts = urlsplit(absolute)
        hostname = parts.hostname
    except ValueError:  # an unclosed IPv6 bracket, say
        return None, _NO_PARTS
    if parts.scheme not in ("http", "https") or not hostname:
        return None, _NO_PARTS
    if parts.fragment:
        parts = parts._replace(fragment="")
    return urlunsplit(parts), parts


_NO_PARTS = urlsplit("")


def _host_on_site(hostname: str | None, hosts: tuple[str, ...]) -> bool:
    host = (hostname or "").rstrip(".")
    return bool(host) and any(host == allowed or host.endswith("." + allowed) for allowed in hosts)


def _tokens(value: str | None) -> frozenset[str]:
    return frozenset(value.lower().split()) if value else frozenset()


def _text(element: etree._Element) -> str:
    # Bounded: an anchor wrapping a whole page must not make this quadratic.
    parts: list[str] = []
    size = 0
    for piece in element.itertext():
        parts.append(piece)
        size += len(piece)
        if size > 200:
            break
    return " ".join("".join(parts).split())


def _key(url: str) -> str | None:
    try:
        return canonicalize(url)
    except ValueError:
        return None


def _compile(pattern: str | re.Pattern[str] | None, name: str) -> re.Pattern[str] | None:
    if pattern is None or isinstance(pattern, re.Pattern):
        return pattern
    try:
        return re.compile(pattern)  # the re module caches compiled patterns
    except re.error as exc:
        raise ValueError(f"invalid {name} pattern {pattern!r}: {exc}") from None
