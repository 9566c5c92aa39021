"""Keyword topics: which topics an article is about, and through which of their terms.

Place in the flow: the tag pipeline builds one `Matcher` from the topics of topics.yaml and
calls `Matcher.match(article.title, article.text)` for every article; the result becomes
`Article.matches`. Pure logic: no Scrapy, no I/O.

How terms match (a public contract; tests/test_terms.py has cases for each rule):

- Case- and accent-insensitive: "securite nationale" matches "sécurité nationale" and
  "Sécurité Nationale", "sécurité" matches "SECURITE". Except that a word written entirely in
  capitals (a cased letter and no lowercase one) is case-sensitive, though still
  accent-insensitive: "AI", "IA", "KI", "NATO" do not match "ai", "Ki", "Nato"; "ETATS" matches
  "États". Case is decided word by word: in "NATO summit", "summit" also matches "Summit".
- Whole words only: "AI" matches neither "said" nor "Taiwan", "KI" not "KIELER". A word is a
  run of Unicode word characters (letters, digits, underscore), so hyphens and apostrophes
  separate words: "KI" matches "KI-Strategie", "IA" matches "l'IA" and "l’IA".
- A `*` at the end of a word stands for any word characters, or none: "militar*" matches
  "military", "militärisch" and "Militär" (but not French "militaire": m-i-l-i-t-a-i-r-e).
  Any word of a phrase may end with one: "künstlich* Intelligenz" matches "Künstlicher
  Intelligenz". A `*` anywhere else is an error.
- A phrase (a term of several words) matches those words as consecutive words of the text,
  whatever lies between them: "national security" matches "national\\nsecurity". Punctuation
  between words is ignored, in the text ("national. Security" matches too) as in the term
  ("l'IA" is the phrase "l IA").
- Title and text are separate segments: neither a phrase nor a `near` window runs from the
  end of the title into the start of the text.
- `any`: the topic applies if one of its terms matches.
- `all`: the topic applies if every group has a matching term, anywhere in title or text.
- `near: N` (with `all`): the matches must also be close: one match of every group within a
  span of at most N words of one segment, from the first word of the first match to the last
  word of the last. With near 15 and groups [["IA"], ["usage militaire"]], "Meta ouvre ses IA
  pour un usage militaire" applies; "artificial intelligence" in the first paragraph and
  "defence" 200 words later does not.
- A rule with both `any` and `all` applies if either part does: `any` lists terms that are
  enough on their own, `all` the combinations that are needed for the others.
- `none`: if one of its terms matches anywhere, the topic does not apply.
- Reported terms are written exactly as in the rule, each once, in the rule's order (`any`
  terms, then `all` groups): the `any` terms that matched and, if the `all` part applies, the
  terms of its groups that matched (with `near`: those inside the qualifying windows).

Accents are removed by compatibility decomposition (NFKD) and dropping every combining mark,
so "e\\u0301" is "é" is "e", and "ﬁ" is "fi". In scripts that write vowels as combining marks
(Devanagari, Thai...) the vowel signs are dropped as well, which makes matching there looser.

Speed: each segment is tokenized by one regular expression and each distinct word casefolded
once; terms are found through dicts keyed by their first word, and only the candidates found
there are checked word by word. The cost grows with the length of the article, hardly with the
number of terms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

__all__ = ["Matcher", "TermError", "TopicRule", "check_term"]

_WORD = re.compile(r"\w+")
_HEAD = 3  # letters of a wildcard prefix that index it (fewer if the prefix is shorter)
_TERM_WORD = re.compile(r"(\w+)(\*?)")
# A star not right after a word character, or followed by a word character or another star.
_BAD_STAR = re.compile(r"(?<!\w)\*|\*(?=[\w*])")

# Hits of one segment: term id -> (index of its first word, index of its last word), in order.
_Hits = dict[int, list[tuple[int, int]]]


class TermError(ValueError):
    """A term, or a topic rule, that cannot be matched; the message names it and says why."""


@dataclass(frozen=True)
class TopicRule:
    """One topic, as configured; see the module docstring for what each field means."""

    name: str
    description: str = ""
    any: tuple[str, ...] = ()  # one of these terms must match
    all: tuple[tuple[str, ...], ...] = ()  # every group must match at least once
    none: tuple[str, ...] = ()  # any match vetoes the topic
    near: int | None = None  # with `all`: one match of every group within a span of N words


@dataclass(frozen=True, slots=True)
class _Word:
    folded: str  # accent-stripped and casefolded: compared with every word of the text
    exact: str | None  # accent-stripped only, for a word written in capitals
    prefix: bool  # written with a trailing `*`


@dataclass(frozen=True, slots=True)
class _Term:
    text: str  # as written in the rule, for reporting
    words: tuple[_Word, ...]


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    any: tuple[int, ...]  # term ids
    all: tuple[tuple[int, ...], ...]
    none: tuple[int, ...]
    near: int | None
    order: tuple[int, ...]  # `any` then `all` term ids, each once: the order of reported terms


@cache
def _marks() -> re.Pattern[str]:
    """Every combining mark of the BMP, as one character class; built on first use (~25 ms)."""
    # Marks beyond the BMP (historic scripts, variation selectors) are left alone: they split
    # words in terms and texts alike, and a class reaching past the BMP makes `re` ~20x slower.
    codes = [c for c in range(0x10000) if unicodedata.category(chr(c)).startswith("M")]
    ranges: list[tuple[int, int]] = []
    for c in codes:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))
    return re.compile("[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges) + "]+")


def _strip_accents(s: str) -> str:
    if s.isascii():  # most English text: nothing to decompose
        return s
    return _marks().sub("", unicodedata.normalize("NFKD", s))


def _parse(term: str) -> tuple[_Word, ...]:
    if not isinstance(term, str):  # YAML turns `- 2024` or `- yes` into non-strings
        raise TermError(f"term {term!r} is a {type(term).__name__}, not a string")
    if not term.strip():
        raise TermError(f"term {term!r} is empty")
    stripped = _strip_accents(term)
    if _BAD_STAR.search(stripped):
        raise TermError(f"term {term!r}: '*' may only end a word, as in 'militar*'")
    words = tuple(
        _Word(word.casefold(), word if word.isupper() else None, star == "*")
        for word, star in _TERM_WORD.findall(stripped)
    )
    if not words:
        raise TermError(f"term {term!r} has no word characters (letters or digits)")
    return words


def check_term(term: str) -> None:
    """Raise `TermError` if `term` cannot be matched: empty, no word, a misplaced `*`."""
    _parse(term)


def _word_matches(word: _Word, exact: str, folded: str) -> bool:
    """Whether `word` of a term matches a word of a text, given as written and casefolded."""
    if word.prefix:
        return folded.startswith(word.folded) and (
            word.exact is None or exact.startswith(word.exact)
        )
    return folded == word.folded and (word.exact is None or exact == word.exact)


def _terms_list(value: object, what: str, topic: str) -> Sequence[str]:
    # A bare string would be matched character by character: catch the YAML slip `any: AI`.
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TermError(f"topic {topic!r}: {what} must be a list of terms, not {value!r}")
    return value


def _compile_rule(rule: TopicRule, term_id: Callable[[str], int]) -> _Rule:
    name = rule.name
    any_ = tuple(term_id(t) for t in _terms_list(rule.any, "`any`", name))
    groups = tuple(
        tuple(term_id(t) for t in _terms_list(group, "each `all` group", name))
        for group in _terms_list(rule.all, "`all`", name)
    )
    none = tuple(term_id(t) for t in _terms_list(rule.none, "`none`", name))
    if not any_ and not groups:
        raise TermError(f"topic {name!r} has no `any` or `all` terms, so it never applies")
    if any(not group for group in groups):
        raise TermError(f"topic {name!r} has an empty `all` group, so `all` never applies")
    near = rule.near
    if near is not None:
        if isinstance(near, bool) or not isinstance(near, int) or near < 1:
            raise TermError(f"topic {name!r}: `near` must be a number of words, not {near!r}")
        if not groups:
            raise TermError(f"topic {name!r}: `near` needs `all` groups to bring together")
    order = tuple(dict.fromkeys((*any_, *(t for group in groups for t in group))))
    return _Rule(name, any_, groups, none, near, order)


class Matcher:
    """Topic rules compiled once, matched against many articles."""

    def __init__(self, rules: Sequence[TopicRule]) -> None:
        self._terms: list[_Term] = []
        ids: dict[str, int] = {}
        topic = ""

        def term_id(term: str) -> int:
            if term not in ids:
                try:
                    words = _parse(term)
                except TermError as e:
                    raise TermError(f"topic {topic!r}: {e}") from None
                ids[term] = len(self._terms)
                self._terms.append(_Term(term, words))
            return ids[term]

        self._rules: list[_Rule] = []
        for rule in rules:
            topic = rule.name
            if not isinstance(topic, str) or not topic.strip():
                raise TermError(f"topic name {topic!r} is empty")
            if any(r.name == topic for r in self._rules):
                raise TermError(f"topic {topic!r} is defined twice")
            self._rules.append(_compile_rule(rule, term_id))

        # Terms indexed by their first word, so that a distinct word of a text costs a dict
        # lookup or two however many terms there are: a whole word by its folded form, a word
        # with `*` by the first letters of its prefix, which leaves a `startswith` against the
        # few prefixes that share them (most words of a text share them with none).
        self._first: dict[str, list[int]] = {}
        wildcards: dict[str, list[int]] = {}
        for tid, term in enumerate(self._terms):
            first = term.words[0]
            (wildcards if first.prefix else self._first).setdefault(first.folded, []).append(tid)
        self._head = min([_HEAD, *map(len, wildcards)])
        self._prefixes: dict[str, list[tuple[str, list[int]]]] = {}
        for prefix, tids in wildcards.items():
            self._prefixes.setdefault(prefix[: self._head], []).append((prefix, tids))

    def match(self, title: str | None, text: str | None) -> dict[str, list[str]]:
        """topic name -> the terms (exactly as written in the rule) that matched, for every
        topic that applies. Topics in rule order; terms de-duplicated, in rule order."""
        segments = [self._scan(s) for s in (title, text) if s]
        found = {tid for hits in segments for tid in hits}
        result: dict[str, list[str]] = {}
        for rule in self._rules:
            if not found or any(t in found for t in rule.none):
                continue
            matched = {t for t in rule.any if t in found}
            if rule.all and all(any(t in found for t in group) for group in rule.all):
                if rule.near is None:
                    matched.update(t for group in rule.all for t in group if t in found)
                else:
                    matched.update(_near(rule.all, rule.near, segments))
            if matched:
                result[rule.name] = [self._terms[t].text for t in rule.order if t in matched]
        return result

    def _starts(self, vocabulary: set[str]) -> dict[str, list[int]]:
        """Distinct folded words of a segment -> ids of the terms whose first word they match,
        case aside."""
        starts = {word: list(self._first[word]) for word in vocabulary.intersection(self._first)}
        head, prefixes = self._head, self._prefixes
        for word in [w for w in vocabulary if w[:head] in prefixes] if prefixes else ():
            for prefix, tids in prefixes[word[:head]]:
                if word.startswith(prefix):
                    starts.setdefault(word, []).extend(tids)
        return starts

    def _scan(self, segment: str) -> _Hits:
        """Every occurrence of every term in one segment."""
        words = _WORD.findall(_strip_accents(segment))
        # Casefolded once per distinct word: texts repeat their words a lot.
        folded = {word: word.casefold() for word in set(words)}
        by_folded = self._starts(set(folded.values()))
        hits: _Hits = {}
        if not by_folded:
            return hits
        starts = {word: by_folded[f] for word, f in folded.items() if f in by_folded}
        count = len(words)
        for i in [i for i, word in enumerate(words) if word in starts]:
            for tid in starts[words[i]]:
                term = self._terms[tid].words
                end = i + len(term) - 1
                if end < count and all(
                    _word_matches(w, words[j], folded[words[j]]) for j, w in enumerate(term, i)
                ):
                    hits.setdefault(tid, []).append((i, end))
        return hits


def _near(groups: tuple[tuple[int, ...], ...], span: int, segments: Iterable[_Hits]) -> set[int]:
    """Terms of the matches that lie in a window of `span` words holding one match per group."""
    matched: set[int] = set()
    for hits in segments:
        if not all(any(t in hits for t in group) for group in groups):
            continue
        occurrences = sorted(
            (start, end, tid, g)
            for g, group in enumerate(groups)
            for tid in group
            for start, end in hits.get(tid, ())
        )
        # A qualifying window can always be taken to start where one of its matches starts.
        for k, (first, _, _, _) in enumerate(occurrences):
            last = first + span - 1
            inside: list[tuple[int, int]] = []
            for start, end, tid, g in occurrences[k:]:
                if start > last:
                    break
                if end <= last:
                    inside.append((tid, g))
            if len({g for _, g in inside}) == len(groups):
                matched.update(tid for tid, _ in inside)
    return matched
