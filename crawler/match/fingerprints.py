"""The keys the dedup stage compares an article's text by: pure, no Scrapy, no I/O.

- `fingerprint`: the same words, blind to case, accents, spacing and punctuation (a page
  reached by another URL, a wire story run word for word);
- `signature`: the near-duplicate signature of `crawler.match.near_duplicates`.

Both are pure functions of the extracted text, so the extraction workers compute them beside
it (`crawler.extract.pool`) and the crawl's process only looks them up: signing takes
1.3 ms and fingerprinting 0.1-0.6 ms an article that the reactor's thread no longer spends.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

from crawler.match.near_duplicates import signature
from crawler.text.folding import fold_decomposed

__all__ = ["TextKeys", "fingerprint", "text_keys"]

_WORDS = re.compile(r"\w+")


class TextKeys(NamedTuple):
    fingerprint: str
    signature: bytes


def text_keys(text: str) -> TextKeys:
    return TextKeys(fingerprint(text), signature(text))


def fingerprint(text: str) -> str:
    """Hash of the text's words, blind to case, accents, spacing and punctuation.

    Stored: the same text must give the same hash in every version, so the words are folded
    decomposed (`crawler.text.folding.fold_decomposed`), as they always were."""
    return hashlib.sha256(
        " ".join(_WORDS.findall(fold_decomposed(text))).encode("utf-8")
    ).hexdigest()
