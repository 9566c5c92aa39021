"""What an article's address looks like: one rule for every part that must tell an article's
URL from a home, section, tag, author, search, pagination or service page without reading it.
Pure: no network, no framework.

Used by the listings parser (`crawler.sources.listings`: which links of a front page are
articles) and by headline-only articles (`crawler.extract.headline`: whether a page without
text, a paywall, is an article page). An address looks like an article's when it has a numeric
id of five or more digits, a date followed by more path, a `.html` page with a two-word name,
a query naming one article (`?p=123`), or a slug of three or more words; never when a path
segment or a query parameter names a listing or a service page, nor when it is an asset.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

__all__ = ["NOT_ARTICLE_RELS", "NOT_ARTICLE_SEGMENTS", "looks_like_article"]

# Path segments that name a page about many articles, or no article at all.
NOT_ARTICLE_SEGMENTS = frozenset(
    {
        "tag",
        "tags",
        "category",
        "categories",
        "categorie",
        "kategorie",
        "topic",
        "topics",
        "thema",
        "themen",
        "schlagwort",
        "stichwort",
        "author",
        "authors",
        "auteur",
        "auteurs",
        "autor",
        "autoren",
        "journalist",
        "journalists",
        "profile",
        "profil",
        "user",
        "users",
        "section",
        "sections",
        "rubrique",
        "ressort",
        "page",
        "pages",
        "seite",
        "search",
        "recherche",
        "suche",
        "login",
        "log-in",
        "signin",
        "sign-in",
        "logout",
        "register",
        "signup",
        "sign-up",
        "account",
        "compte",
        "konto",
        "subscribe",
        "subscription",
        "subscriptions",
        "abonnement",
        "abonnements",
        "abo",
        "newsletter",
        "newsletters",
        "about",
        "about-us",
        "a-propos",
        "ueber-uns",
        "contact",
        "contact-us",
        "kontakt",
        "impressum",
        "imprint",
        "privacy",
        "privacy-policy",
        "datenschutz",
        "terms",
        "terms-of-service",
        "legal",
        "mentions-legales",
        "cookies",
        "cookie-policy",
        "feed",
        "feeds",
        "rss",
        "atom",
        "sitemap",
        "shop",
        "store",
        "cart",
        "jobs",
        "careers",
        "advertise",
        "advertising",
        "wp-login.php",
        "wp-admin",
        "cdn-cgi",
        "share",
        "print",
        "comments",
        "help",
        "faq",
    }
)
# Query parameters of search, listing and pagination addresses.
_NOT_ARTICLE_PARAMS = frozenset(
    {
        "s",
        "q",
        "query",
        "search",
        "page",
        "paged",
        "pg",
        "tag",
        "cat",
        "category",
        "author",
        "replytocom",
        "share",
        "print",
        "output",
        "format",
        "feed",
        "sort",
        "filter",
    }
)
# Query parameters whose numeric value names one article ("?p=123", "article.php?id=42").
_ARTICLE_PARAMS = frozenset(
    {
        "p",
        "id",
        "article",
        "articleid",
        "article_id",
        "story",
        "storyid",
        "story_id",
        "newsid",
        "news_id",
        "nid",
        "sid",
        "aid",
        "artikel",
        "item",
        "itemid",
        "post",
        "postid",
    }
)
NOT_ARTICLE_RELS = frozenset(
    {"tag", "author", "category", "license", "help", "search", "me", "alternate", "home"}
)
_INDEX_NAMES = frozenset({"index", "default", "home", "main", "start"})
_ASSET = re.compile(
    r"\.(?:jpe?g|png|gif|webp|avif|svg|ico|bmp|tiff?|pdf|zip|gz|rar|7z|mp3|m4a|ogg|wav|mp4|"
    r"m4v|mov|avi|webm|css|js|json|xml|rss|atom|txt|csv|xlsx?|docx?|pptx?|odt|epub|ics|vcf)$"
)
_DATE = re.compile(
    r"(?<!\d)(?:19|20)\d{2}(?P<sep>[/_-]?)(?:0?[1-9]|1[0-2])(?P=sep)(?:0?[1-9]|[12]\d|3[01])(?!\d)"
    r"|(?<!\d)(?:19|20)\d{2}/(?:0?[1-9]|1[0-2])(?!\d)"
    r"|(?<!\d)(?:19|20)\d{2}/(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*(?:/\d{1,2})?"
    r"(?![a-z\d])"
)
_LONG_NUMBER = re.compile(r"\d{5,}")
_WORD_SPLIT = re.compile(r"[-_+.,~]+|%20|\s+")


def looks_like_article(url: str | SplitResult) -> bool:
    """Whether an address looks like one article's (the rule in the module docstring)."""
    try:
        parts = urlsplit(url) if isinstance(url, str) else url
    except ValueError:  # an unbalanced IPv6 bracket: no address at all
        return False
    path = unquote(parts.path).lower()
    segments = [segment for segment in path.split("/") if segment]
    params = parse_qsl(parts.query, keep_blank_values=True)
    if any(name.lower() in _NOT_ARTICLE_PARAMS for name, _ in params):
        return False
    if any(name.lower() in _ARTICLE_PARAMS and value.isdigit() for name, value in params):
        return True
    if not segments or any(segment in NOT_ARTICLE_SEGMENTS for segment in segments):
        return False
    last = segments[-1]
    if _ASSET.search(last):
        return False
    if _LONG_NUMBER.search("/".join(segments[-2:])):
        return True
    date = _DATE.search(path)
    if date and any(char.isalnum() for char in path[date.end() :]):
        return True  # "/2024/05/07/floods", not the archive "/2024/05/07/"
    stem, dot, extension = last.rpartition(".")
    if dot and extension in ("html", "htm", "shtml", "php", "asp", "aspx", "jsp"):
        return stem not in _INDEX_NAMES and _words(stem) >= 2
    return _words(last) >= 3


def _words(slug: str) -> int:
    return sum(1 for part in _WORD_SPLIT.split(slug) if any(c.isalpha() for c in part))
