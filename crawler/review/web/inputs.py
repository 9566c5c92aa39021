"""What the web app accepts from a request: page numbers, dates, ids, menu choices and
redirect targets. Pure checks with no Flask: each raises BadInput with a message for the
person who typed the value, which the views turn into a 400 page (never a 500, never a
silent fallback to some other value).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from datetime import date
from urllib.parse import unquote, urlsplit

__all__ = ["BadInput", "article_ids", "day", "page_number", "same_site_path", "search_notes"]

MAX_PAGE = 10_000  # 500,000 hits at 50 a page; a page further is counted to, which costs
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)  # dates a filter may name
MAX_QUERY = 500  # characters of a search
OPERATORS = ("OR", "AND", "NOT")  # what other search boxes read as operators
_WORD = re.compile(r"\w")
# Article ids are the store's integer keys: 32 bits on PostgreSQL, 64 on SQLite.
MAX_ID = {"postgresql": 2**31 - 1}
MAX_ID_OTHER = 2**63 - 1
MAX_BULK = 500  # articles marked in one request (a page holds 50)


class BadInput(ValueError):
    """A request value the app cannot use; the message says which and why."""


def _has_control(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def plain(name: str, value: str) -> str:
    """A query value without control characters (NUL breaks PostgreSQL's text)."""
    if _has_control(value):
        raise BadInput(f"{name}: control characters are not allowed")
    return value


def note_text(value: str) -> str:
    """A review note: any text, lines and tabs included, but no other control character."""
    if _has_control(value, "\n\r\t"):
        raise BadInput("note: control characters are not allowed")
    return value


def page_number(text: str | None) -> int:
    """`page`: a whole number from 1 to MAX_PAGE (absent: 1)."""
    if text is None or not text.strip():
        return 1
    stripped = text.strip()
    if not stripped.isascii() or not stripped.isdigit() or len(stripped) > 6:
        raise BadInput(f"page: not a page number from 1 to {MAX_PAGE:,}: {text[:40]!r}")
    number = int(stripped)
    if not 1 <= number <= MAX_PAGE:
        raise BadInput(f"page: not a page number from 1 to {MAX_PAGE:,}: {text[:40]!r}")
    return number


def day(name: str, text: str | None) -> date | None:
    """A date filter (`since`, `until`): YYYY-MM-DD between FIRST_DAY and LAST_DAY."""
    if not text:
        return None
    try:
        found = date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{name}: not a date like 2026-11-30: {text[:40]!r}") from None
    if not FIRST_DAY <= found <= LAST_DAY:
        raise BadInput(f"{name}: dates run from {FIRST_DAY} to {LAST_DAY}: {text[:40]!r}")
    return found


def choice(name: str, value: str | None, allowed: Collection[str]) -> str | None:
    """One of `allowed`, or None when absent."""
    if not value:
        return None
    if value not in allowed:
        raise BadInput(f"{name}: {value[:60]!r} is not one of {', '.join(allowed)}")
    return value


def article_id_fits(article_id: int, dialect: str) -> bool:
    """Whether an id can name a stored article at all (a larger one overflows the column)."""
    return 1 <= article_id <= MAX_ID.get(dialect, MAX_ID_OTHER)


def article_ids(name: str, values: list[str], dialect: str) -> list[int]:
    """Article ids of a form (the hits ticked for a bulk review), each once, in order."""
    found: dict[int, None] = {}
    for value in values:
        text = value.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 19):
            raise BadInput(f"{name}: not an article id: {value[:40]!r}")
        number = int(text)
        if not article_id_fits(number, dialect):
            raise BadInput(f"{name}: no article with id {text}")
        found[number] = None
    if len(found) > MAX_BULK:
        raise BadInput(f"{name}: at most {MAX_BULK} articles at once ({len(found)} given)")
    return list(found)


def same_site_path(back: str | None) -> str | None:
    """`back` when it is a path of this site, else None. Browsers drop tabs and newlines from
    URLs and read a backslash as a slash, so `/\\t/evil.example/` would leave the site: no
    scheme, no host, no `//`, no backslash, no control or space character; nor, in the path
    once percent-decoded (a decoded query may hold spaces: `?q=usage%20militaire`)."""
    if not back or not back.startswith("/") or _unsafe(back):
        return None
    path = unquote(back.split("?", 1)[0].split("#", 1)[0])
    if _unsafe(path) or urlsplit(path).netloc:
        return None
    return back


def _unsafe(text: str) -> bool:
    return (
        text.startswith("//")
        or "\\" in text
        or bool(urlsplit(text).scheme)
        or any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in text)
    )


def search_notes(q: str, terms: int) -> list[str]:
    """What a search does not do as it was typed, to say so above the list (the search of
    `crawler.store.search` reads words, "phrases" and prefix* words and ignores the rest):
    `terms` is how many terms it found in `q`."""
    if not q.strip():
        return []
    if not terms:
        return [
            f'Nothing to search for in {q[:60]!r}: a search needs words, "phrases" or prefix* '
            "words. The list below is not filtered by it."
        ]
    notes = []
    if q.count('"') % 2:
        notes.append('The last " is not closed: the rest of the search was read as a phrase.')
    bare = " ".join(q.split('"')[::2]).split()  # outside quotes
    operators = sorted({word for word in bare if word in OPERATORS})
    if operators:
        notes.append(
            f"{', '.join(operators)}: searched as words; every word must appear (there are no "
            "operators)."
        )
    if any(word.startswith("-") and _WORD.match(word[1:2] or " ") for word in bare):
        notes.append("-word does not exclude a word: it is searched like the others.")
    if any("*" in word.rstrip("*") for word in bare):
        notes.append("A * counts only at the end of a word (prefix*): others were ignored.")
    return notes
