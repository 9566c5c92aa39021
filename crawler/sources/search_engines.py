"""Search-engine news feeds: from a Google News or Bing News entry to the publisher's article.

config → schedule → spiders (**feeds**) → `Article` item → pipelines. A news search feed lists
stories from any outlet, but its entry links lead to the search engine, not to the outlet:
Bing's are click trackers (`bing.com/news/apiclick.aspx?...&url=<publisher URL>`), Google
News's are article ids (`news.google.com/rss/articles/CBMi...`) whose page needs JavaScript.
The feeds spider asks `search_link` what an entry link is; this module answers offline where
the link itself holds the publisher's URL, and supplies the pure parts of the other ways:
title matching against the publisher's own sitemap or feed (`TitleIndex`), and the optional
request to Google's decoding endpoint (`decoding_params`, `batchexecute_body`,
`parse_batchexecute`). Pure: no Scrapy, no network.

Recognition is by shape: a Bing click link is any `/news/apiclick.aspx` link with an absolute
http(s) `url` parameter (the click would redirect there anyway); a Google News link is
`/rss/articles/<id>`, `/articles/<id>` or `/read/<id>` on one of the configured hosts
(`google_news_hosts`, by default news.google.com).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

from crawler.text.folding import fold

__all__ = [
    "HEADLINE_ONLY",
    "MATCH_THRESHOLD",
    "SearchLink",
    "TitleIndex",
    "batchexecute_body",
    "batchexecute_url",
    "bing_target",
    "describe_resolution",
    "decode_google_news_id",
    "decoding_params",
    "google_news_id",
    "headline",
    "parse_batchexecute",
    "parse_hosts",
    "search_link",
    "title_similarity",
]

# Titles match when their folded word sets have a Dice coefficient at least this high: a word
# added to a ten-word title gives 0.95, a word replaced in a ten-word title 0.9. A word
# replaced in an eight-word title (0.875) is refused: "Army tests drone swarms over the Baltic
# Sea" and "... over the North Sea" are two stories. A wrong match attaches another article
# to the hit; a missed one still leaves a headline-only hit, so precision comes first.
MATCH_THRESHOLD = 0.9
# How a pass counts a search entry that stayed headline-only: this prefix, then the reason.
HEADLINE_ONLY = "headline-only: "
_ID_PATHS = ("rss/articles", "articles", "read")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class SearchLink:
    """What an entry link is: a search engine's link (and the publisher's URL, when the link
    holds it), or an ordinary link (`engine` None)."""

    engine: Literal["bing", "google"] | None = None
    target: str | None = None  # the publisher's article URL, read offline from the link
    article_id: str | None = None  # Google News: the id in the link's path


def parse_hosts(value: str) -> frozenset[str]:
    """The `google_news_hosts` setting: host names (or host:port), comma-separated."""
    return frozenset(part.strip().lower() for part in value.split(",") if part.strip())


def search_link(url: str, google_hosts: Iterable[str] = ("news.google.com",)) -> SearchLink:
    """What `url` (an entry link) is; never raises."""
    target = bing_target(url)
    if target is not None:
        return SearchLink("bing", target)
    article_id = google_news_id(url, google_hosts)
    if article_id is not None:
        return SearchLink("google", decode_google_news_id(article_id), article_id)
    return SearchLink()


def bing_target(url: str) -> str | None:
    """The publisher's URL in a Bing News click link (its `url` parameter), else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.path.lower().endswith("/news/apiclick.aspx"):
        return None
    for name, values in parse_qs(parts.query).items():
        if name.lower() == "url" and values:
            return _http_url(values[0])
    return None


def google_news_id(url: str, hosts: Iterable[str] = ("news.google.com",)) -> str | None:
    """The article id of a Google News article link on one of `hosts`, else None."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return None
    wanted = {h.lower() for h in hosts}
    if host not in wanted and netloc not in wanted:
        return None
    directory, _, article_id = parts.path.strip("/").rpartition("/")
    if directory not in _ID_PATHS or not re.fullmatch(r"[A-Za-z0-9_-]{8,}", article_id):
        return None
    return article_id


def decode_google_news_id(article_id: str) -> str | None:
    """The publisher's URL held by an old-style Google News id, else None.

    An id is a protocol buffer message in unpadded base64url. Old-style ids (until mid-2024,
    still found in older entries) carry the article's URL as field 4 and often its AMP URL as
    field 26; newer ids carry an opaque token there instead (starting "AU_yqL"), which only
    Google's endpoint turns into a URL. The message is read field by field, so a field added
    before the URL or a length over 127 bytes (a two-byte varint) changes nothing.
    """
    try:
        data = base64.urlsafe_b64decode(article_id + "=" * (-len(article_id) % 4))
    except (binascii.Error, ValueError):
        return None
    fields = _protobuf_fields(data)
    for number in (4, 26):  # the page, else its AMP version
        for value in fields.get(number, []):
            if isinstance(value, bytes):
                try:
                    url = _http_url(value.decode("utf-8"))
                except UnicodeDecodeError:
                    continue
                if url is not None:
                    return url
    return None


def _protobuf_fields(data: bytes) -> dict[int, list[int | bytes]]:
    """The top-level fields of a protobuf message (number -> values); what cannot be read
    ends the message (a damaged id decodes as far as it is whole)."""
    fields: dict[int, list[int | bytes]] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        if key is None:
            break
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            number_value, pos = _varint(data, pos)
            if number_value is None:
                break
            value = number_value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if length is None or pos + length > len(data):
                break
            value, pos = data[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:  # groups (3, 4) are obsolete and 6, 7 do not exist: not a message we know
            break
        if pos > len(data) or number == 0:
            break
        fields.setdefault(number, []).append(value)
    return fields


def _varint(data: bytes, pos: int) -> tuple[int | None, int]:
    result = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    return None, pos


def _http_url(value: str) -> str | None:
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


_HOW = {
    "bing": "from Bing's link",
    "decoded": "decoded from Google's id",
    "sitemap": "from the publisher's sitemap",
    "feed": "from the publisher's feed",
    "endpoint": "from Google's endpoint",
}


def describe_resolution(counts: dict[str, int]) -> str:
    """New search-feed entries of a pass in one line: "5 resolved to the publisher's article
    (3 decoded, 2 sitemap), 1 headline-only (no matching title on the publisher's site)"."""
    resolved = {k: v for k, v in counts.items() if not k.startswith(HEADLINE_ONLY) and v}
    headlines = {
        k[len(HEADLINE_ONLY) :]: v for k, v in counts.items() if k.startswith(HEADLINE_ONLY) and v
    }

    def detail(part: dict[str, int]) -> str:
        ordered = sorted(part.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{count} {_HOW.get(how, how)}" for how, count in ordered)

    text = f"{sum(resolved.values())} resolved to the publisher's article"
    if resolved:
        text += f" ({detail(resolved)})"
    text += f", {sum(headlines.values())} headline-only"
    if headlines:
        text += f" ({detail(headlines)})"
    return text


# --- titles ---


def headline(title: str | None, publisher: str | None) -> str | None:
    """A search entry's title without the " - Publisher" Google News appends to it."""
    if not title:
        return title
    if publisher:
        for separator in (" - ", " – ", " | "):
            suffix = separator + publisher
            if title.endswith(suffix) and len(title) > len(suffix):
                return title[: -len(suffix)].strip()
    return title


def _words(title: str) -> frozenset[str]:
    return frozenset(_WORD.findall(fold(title)))


def title_similarity(a: str, b: str) -> float:
    """Dice coefficient of the folded word sets: 1.0 for the same words in any case, accents
    or punctuation, 0.0 for nothing in common."""
    words_a, words_b = _words(a), _words(b)
    if not words_a or not words_b:
        return 0.0
    return 2 * len(words_a & words_b) / (len(words_a) + len(words_b))


@dataclass(frozen=True)
class _Candidate:
    words: frozenset[str]
    url: str
    how: str  # "sitemap" or "feed"


class TitleIndex:
    """Article titles and URLs found on one publisher's site (its news sitemap, its feed),
    searched by title. Candidates added first win ties: the sitemap is added before the feed."""

    def __init__(self, threshold: float = MATCH_THRESHOLD) -> None:
        self.threshold = threshold
        self._candidates: list[_Candidate] = []
        self._seen: set[tuple[str, str]] = set()  # (URL, how): a URL may come both ways

    def __len__(self) -> int:
        return len(self._candidates)

    def add(self, title: str | None, url: str, how: str) -> None:
        if not title or (url, how) in self._seen:
            return
        words = _words(title)
        if words:
            self._seen.add((url, how))
            self._candidates.append(_Candidate(words, url, how))

    def prefer(self, how: str) -> None:
        """Candidates found by `how` first (ties go to them), the others after, each group
        in the order added."""
        self._candidates.sort(key=lambda candidate: candidate.how != how)

    def find(self, title: str | None) -> tuple[str, str] | None:
        """(URL, how it was found) of the candidate whose title is closest to `title`, if it
        reaches the threshold; None when two candidates are equally close (ambiguous)."""
        if not title:
            return None
        words = _words(title)
        if not words:
            return None
        best: _Candidate | None = None
        best_score = 0.0
        tied = False
        for candidate in self._candidates:
            score = 2 * len(words & candidate.words) / (len(words) + len(candidate.words))
            if score > best_score:
                best, best_score, tied = candidate, score, False
            elif score == best_score and best is not None and candidate.url != best.url:
                tied = True
        if best is None or best_score < self.threshold or tied:
            return None
        return best.url, best.how


# --- Google's decoding endpoint (the `google_news_decode` setting) ---

_SIGNATURE = re.compile(r'data-n-a-sg="([^"]+)"')
_TIMESTAMP = re.compile(r'data-n-a-ts="([^"]+)"')
# The request context the news.google.com web app sends with "garturlreq" (locale, client
# flags); the endpoint answers with the URL whatever the locale.
_CONTEXT: list[Any] = [
    ["X", "X", ["X", "X"], None, None, 1, 1, "US:en", None, 1] + [None] * 5 + [0, 1],
    "X",
    "X",
    1,
    [1, 1, 1],
    1,
    1,
    None,
    0,
    0,
    None,
    0,
]


def decoding_params(html: str) -> tuple[str, str] | None:
    """(signature, timestamp) of a Google News article page: the `data-n-a-sg` and
    `data-n-a-ts` attributes its decoding request must carry; None when absent (a consent
    page, a changed page)."""
    signature = _SIGNATURE.search(html)
    timestamp = _TIMESTAMP.search(html)
    if signature is None or timestamp is None:
        return None
    return signature.group(1), timestamp.group(1)


def batchexecute_url(article_url: str) -> str:
    """The decoding endpoint on the host of the Google News link."""
    parts = urlsplit(article_url)
    return urlunsplit((parts.scheme, parts.netloc, "/_/DotsSplashUi/data/batchexecute", "", ""))


def batchexecute_body(article_id: str, timestamp: str, signature: str) -> str:
    """The form body (`f.req=...`) asking the endpoint for one article's URL."""
    stamp: int | str = int(timestamp) if timestamp.isdigit() else timestamp
    inner = ["garturlreq", _CONTEXT, article_id, stamp, signature]
    envelope = [[["Fbv4je", json.dumps(inner, separators=(",", ":")), None, "generic"]]]
    return "f.req=" + quote(json.dumps(envelope, separators=(",", ":")), safe="")


def parse_batchexecute(text: str) -> str | None:
    """The article URL in the endpoint's answer, else None.

    The answer starts with the anti-JSON-hijacking line `)]}'`, then one JSON array of rows,
    or (with chunked output) a series of "length line, JSON array" pairs. The row wanted is
    `["wrb.fr", "Fbv4je", "<JSON string>", ...]` whose string decodes to
    `["garturlres", "<URL>", ...]`.
    """
    body = text.removeprefix(")]}'")
    decoder = json.JSONDecoder()
    pos = 0
    while pos < len(body):
        while pos < len(body) and (body[pos].isspace() or body[pos].isdigit()):
            pos += 1  # whitespace and chunk lengths
        if pos >= len(body):
            break
        try:
            value, pos = decoder.raw_decode(body, pos)
        except ValueError:
            return None
        url = _garturlres(value)
        if url is not None:
            return url
    return None


def _garturlres(value: Any) -> str | None:
    if not isinstance(value, list):
        return None
    for row in value:
        if not (isinstance(row, list) and len(row) >= 3 and row[0] == "wrb.fr"):
            continue
        payload = row[2]
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                continue
        if (
            isinstance(payload, list)
            and len(payload) >= 2
            and payload[0] == "garturlres"
            and isinstance(payload[1], str)
        ):
            return _http_url(payload[1])
    return None
