r"""Accent and case folding: how words compare, in one place; pure, no Scrapy, no I/O.

Tagging (`crawler.match.terms`), fingerprints (`crawler.match.fingerprints`), near-duplicates
(`crawler.match.near_duplicates`) and stories (`crawler.match.stories`) compare words blind to
case, accents
and compatibility forms ("Ｆｕｌｌ" is "full", "ﬁ" is "fi", "Straße" is "strasse", "Sécurité"
is "securite"). The rule: Unicode compatibility composition (NFKC), full case folding, then
compatibility decomposition (NFKD) and every combining mark dropped (a character whose
canonical combining class is not 0: accents, diacritics, the Greek iota subscript).

Named forms of that rule, for the stages that need one:

- `fold`: the rule, recomposed (NFC) at the end, so that a Korean syllable stays one
  character: near-duplicates and stories, which cut the result into words.
- `fold_decomposed`: the rule without that last composition, for fingerprints. They are stored
  hashes, made on the decomposed form since the first version: composing would change the
  fingerprint of every Korean text (and of a few Indic vowel signs), and a verbatim copy of an
  article stored before would no longer be recognised. On every other character the two agree.

And one rule of its own, for tagging, `strip_every_mark`: decomposition (NFKD) and every mark
dropped (Unicode category M), its case kept. Two needs differ there. Capitals count for terms
written in capitals ("AI" is not "ai"), so the matcher folds case itself, on this result, whose
offsets it maps back to the written text. And it drops the vowel signs of Indic and South-East
Asian scripts too (marks of combining class 0, not accents): Python's `\w` does not count
them as word characters, so kept they would cut "हिन्दी" in pieces and no term of those
scripts could match a whole word. The stored keys keep them, as they always did.

Near-duplicate signatures are stored too: `fold` gives them byte for byte what the rule of
`crawler.match.near_duplicates` gave, except on text holding a combining mark beyond the Basic
Multilingual Plane (musical notation, historic scripts, Adlam, Chakma), which that rule left
in place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

__all__ = ["fold", "fold_decomposed", "strip_every_mark"]


# A text this short, folded before any longer one, has its marks dropped one by one (a few
# microseconds) rather than through the class (`_class_of`), whose building costs 30-60 ms:
# a config load folding a topic's accented terms paid it, on every command, for nothing.
SHORT = 200
# The class of each rule, once built: a pure function of the Unicode tables, the same for every
# caller.
_classes: dict[Callable[[str], object], re.Pattern[str]] = {}


def _class_of(marks: Callable[[str], object]) -> re.Pattern[str]:
    """The characters of the Basic Multilingual Plane for which `marks` is true, as one
    character class (30 ms; `_drop` builds it once, for the first long text).

    Those beyond it are dropped one by one (`_drop`): a class reaching past the BMP makes `re`
    about 20 times slower on every text."""
    ranges: list[list[int]] = []
    for code in range(0x10000):
        if marks(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return re.compile("[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges) + "]+")


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _drop(decomposed: str, is_mark: Callable[[str], object]) -> str:
    """`decomposed` without the characters for which `is_mark` is true."""
    pattern = _classes.get(is_mark)
    if pattern is None:
        if len(decomposed) <= SHORT:
            return "".join(char for char in decomposed if not is_mark(char))
        pattern = _classes[is_mark] = _class_of(is_mark)
    stripped = pattern.sub("", decomposed)
    # Beyond the BMP (emoji, historic scripts: rare) a character takes two UTF-16 units:
    # encoding finds one in 2 µs for 5,000 characters, where max() takes 120.
    if len(stripped.encode("utf-16-le", "surrogatepass")) != 2 * len(stripped):
        stripped = _ASTRAL.sub(lambda m: "" if is_mark(m.group()) else m.group(), stripped)
    return stripped


def strip_every_mark(text: str) -> str:
    """`text` decomposed (NFKD) without any mark; its case kept. For tagging."""
    if text.isascii():  # most English text: nothing to decompose
        return text
    return _drop(unicodedata.normalize("NFKD", text), _is_mark)


def fold_decomposed(text: str) -> str:
    """`text` folded by the rule, left decomposed: what fingerprints hash."""
    if text.isascii():
        return text.casefold()
    folded = unicodedata.normalize("NFKC", text).casefold()
    if folded.isascii():
        return folded
    return _drop(unicodedata.normalize("NFKD", folded), unicodedata.combining)


def fold(text: str) -> str:
    """`text` folded by the rule: blind to case, accents and compatibility forms."""
    if text.isascii():
        return text.casefold()
    return unicodedata.normalize("NFC", fold_decomposed(text))
