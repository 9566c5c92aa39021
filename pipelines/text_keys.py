"""The keys the dedup stage compares an article's text by: pure, no Scrapy, no I/O.

- `fingerprint`: the same words, blind to case, accents, spacing and punctuation (a page
  reached by another URL, a wire story run word for word);
- `signature`: the near-duplicate signature of `pipelines.neardup`.

Both are pure functions of the extracted text, so the extraction workers compute them beside
it (`pipelines.extraction_pool`) and the crawl's process only looks them up: signing takes
1.3 ms and fingerprinting 0.1-0.6 ms an article that the reactor's thread no longer spends.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import NamedTuple

from pipelines.neardup import COMBINING_MARKS, signature

__all__ = ["TextKeys", "fingerprint", "text_keys"]

_WORDS = re.compile(r"\w+")


class TextKeys(NamedTuple):
    fingerprint: str
    signature: bytes


def text_keys(text: str) -> TextKeys:
    return TextKeys(fingerprint(text), signature(text))


def fingerprint(text: str) -> str:
    """Hash of the text's words, blind to case, accents, spacing and punctuation.

    Stored: the same text must give the same hash in every version, so the rule stays
    "drop every character whose canonical combining class is not 0"; the regular expression
    holds those of the Basic Multilingual Plane, and a text with characters beyond it (rare:
    historic scripts, musical symbols) is filtered character by character."""
    folded = unicodedata.normalize("NFKD", text).casefold()
    if not folded.isascii():
        folded = COMBINING_MARKS.sub("", folded)
        if max(folded, default="") > "\uffff":
            folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return hashlib.sha256(" ".join(_WORDS.findall(folded)).encode("utf-8")).hexdigest()
