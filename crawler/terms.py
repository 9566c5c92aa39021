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
- A term with a character of a script written without spaces between words (Chinese,
  Japanese, Thai, Lao, Khmer, Myanmar) matches as a substring, also inside a longer run of
  letters: "人工智能" matches "美军正在测试人工智能无人机". Its words match one after the other,
  with or without anything between them: "ロシア・ウクライナ" matches "ロシアウクライナ". For
  `near`, such a run of letters (often a whole sentence) counts as one word.
- A term with an invisible character (zero-width joiner or space, soft hyphen, byte order
  mark, any other format or control character but whitespace) is an error: it would split or
  hide words and the term would never match as it reads.
- Reported terms are written exactly as in the rule, each once, in the rule's order (`any`
  terms, then `all` groups): the `any` terms that matched and, if the `all` part applies, the
  terms of its groups that matched (with `near`: those inside the qualifying windows).

Accents are removed by compatibility decomposition (NFKD) and dropping every combining mark,
so "e\\u0301" is "é" is "e", and "ﬁ" is "fi". In scripts that write vowels as combining marks
(Devanagari, Thai...) the vowel signs are dropped as well, which makes matching there looser.

Speed: a segment is accent-stripped and casefolded once (in C), then one Aho-Corasick
automaton (pyahocorasick) over the first words of all terms finds every place where a term may
start, in one pass whatever the number of terms; only those candidates are checked, word by
word. Short capitalised first words ("AI", the "A" of "A.I.") are found by a regular
expression over the text as written instead, or every "a" would be a candidate. Word positions
are counted only for `near`, and only around its matches. `term_spans` is the plain
word-by-word reading of the same rules (for highlighting); tests check that both agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import islice

import ahocorasick

__all__ = ["Matcher", "TermError", "TopicRule", "check_term", "term_spans"]

_WORD = re.compile(r"\w+")
# First words in capitals of up to this many letters are looked up as written (see Matcher).
_SHORT = 2
_TERM_WORD = re.compile(r"(\w+)(\*?)")
# A star not right after a word character, or followed by a word character or another star.
_BAD_STAR = re.compile(r"(?<!\w)\*|\*(?=[\w*])")
# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, Han (with its
# radicals, iteration marks and compatibility ideographs), Hiragana, Katakana (half-width too).
_NO_SPACES = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff\u2e80-\u2fdf\u3005-\u3007"
    "\u3021-\u3029\u3031-\u3035\u3038-\u303c\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\ua9e0-\ua9ff\uaa60-\uaa7f\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0003ffff]"
)


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
    for char in term:
        if unicodedata.category(char) in ("Cf", "Cc", "Cs") and not char.isspace():
            name = unicodedata.name(char, "a control character")
            raise TermError(f"term {term!r} contains an invisible character, U+{ord(char):04X} "
                            f"({name}), so it never matches as it reads: remove it")  # fmt: skip
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
    """Raise `TermError` if `term` cannot be matched: empty, no word, a misplaced `*`, an
    invisible character."""
    _parse(term)


def _anywhere(words: tuple[_Word, ...]) -> re.Pattern[str] | None:
    """For a term in a script written without spaces, the expression that matches it in a
    folded text, anywhere (one group per word); None for any other term."""
    if not any(_NO_SPACES.search(word.folded) for word in words):
        return None
    parts = ["(" + re.escape(word.folded) + (r"\w*" if word.prefix else "") + ")" for word in words]
    return re.compile(r"\W*".join(parts))


def _anywhere_end(segment: _Segment, pattern: re.Pattern[str], words: tuple[_Word, ...],
                  start: int) -> int:  # fmt: skip
    """Where the term of `pattern` (see `_anywhere`) ends if it matches at folded[start], with
    its capitals; 0 if it does not."""
    found = pattern.match(segment.folded, start)
    if found is None:
        return 0
    for group, word in enumerate(words, 1):
        if word.exact is not None and not _cased(word, segment.written(*found.span(group))):
            return 0
    return found.end()


def _word_matches(word: _Word, exact: str, folded: str) -> bool:
    """Whether `word` of a term matches a word of a text, given as written and casefolded."""
    matches = folded.startswith(word.folded) if word.prefix else folded == word.folded
    return matches and (word.exact is None or _cased(word, exact))


def _is_word(char: str) -> bool:
    """Whether `char` is a word character, as `\\w` has it (`re` uses the same test)."""
    return char.isalnum() or char == "_"


@cache
def _unfolding() -> re.Pattern[str]:
    """The characters of the BMP whose casefolded form is longer ("ß" is "ss")."""
    chars = "".join(chr(c) for c in range(0x10000) if len(chr(c).casefold()) > 1)
    return re.compile("[" + re.escape(chars) + "]")


def _cased(word: _Word, written: str) -> bool:
    """Whether a text word, accent-stripped but as written, has the capitals of `word`."""
    return written.startswith(word.exact) if word.prefix else written == word.exact  # type: ignore[arg-type]


class _Segment:
    """One segment (title or text) as matched: its accent-stripped text `exact`, that text
    casefolded, and the matches: term id -> (start, end) character offsets in `folded`, in
    order."""

    __slots__ = ("exact", "folded", "hits", "_longer")

    def __init__(self, text: str) -> None:
        self.exact = _strip_accents(text)
        self.folded = self.exact.casefold()
        self.hits: dict[int, list[tuple[int, int]]] = {}
        # casefold keeps every offset but after a letter it makes longer ("ß", rarely others):
        # (offset in `exact`, characters added), for each of them.
        self._longer: list[tuple[int, int]] = []
        if len(self.folded) != len(self.exact):
            self._longer = [
                (m.start(), len(m.group().casefold()) - 1)
                for m in _unfolding().finditer(self.exact)
            ]

    def written(self, start: int, end: int) -> str:
        """The accent-stripped text of folded[start:end], with its capitals."""
        if not self._longer:
            return self.exact[start:end]
        return self.exact[self._exact_offset(start) : self._exact_offset(end - 1) + 1]

    def _exact_offset(self, offset: int) -> int:
        """The offset in `exact` of the character folded[offset] comes from."""
        added = 0
        for position, extra in self._longer:
            folded = position + added  # where that character's folded form starts
            if offset <= folded:
                break
            if offset <= folded + extra:
                return position
            added += extra
        return offset - added

    def folded_offset(self, offset: int) -> int:
        """The offset in `folded` where exact[offset] begins."""
        if not self._longer:
            return offset
        return offset + sum(extra for position, extra in self._longer if position < offset)

    def word_indexes(self, offsets: Iterable[int], cap: int) -> dict[int, int]:
        """offset -> the number of words starting before it, for offsets at the start or end
        of a word, except that gaps of more than `cap` words between consecutive offsets
        count as `cap + 1`: differences up to `cap` are exact, and larger ones stay larger,
        while counting costs at most `cap + 1` words per gap (not the whole text)."""
        indexes: dict[int, int] = {}
        index, previous = 0, 0
        for offset in sorted(set(offsets)):
            words = _WORD.finditer(self.folded, previous, offset)
            index += sum(1 for _ in islice(words, cap + 1))
            indexes[offset] = index
            previous = offset
        return indexes


def _automaton(keys: dict[str, tuple[list[int], list[int]]]) -> ahocorasick.Automaton | None:
    """An Aho-Corasick automaton of first words: key -> (length, ids of the terms whose first
    word is that whole word, ids of those whose first word is that prefix)."""
    if not keys:
        return None
    automaton = ahocorasick.Automaton()
    for key, (whole, prefixed) in keys.items():
        automaton.add_word(key, (len(key), tuple(whole), tuple(prefixed)))
    automaton.make_automaton()
    return automaton


@lru_cache(maxsize=16)
def _words_of(text: str) -> tuple[list[tuple[int, int, str, str]], list[int]]:
    """The words of `text` for `term_spans`: (start, end, accent-stripped, casefolded), with
    offsets in the accent-stripped text, and the map from those offsets back to `text`.
    The words are those of the accent-stripped text, as for `Matcher` (marks dropped inside
    a word join it: "हिन्दी" is one word)."""
    pieces = [_strip_accents(char) for char in text]
    source = [i for i, piece in enumerate(pieces) for _ in piece]
    words = [
        (match.start(), match.end(), match.group(), match.group().casefold())
        for match in _WORD.finditer("".join(pieces))
    ]
    return words, source


def term_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of `text` where one of `terms` matches, merged, in order; terms that
    cannot be matched are left out. For highlighting: word by word, the plain reading of the
    rules above, where `Matcher` finds the same matches faster (tests check they agree)."""
    parsed = []
    anywhere = []
    for term in dict.fromkeys(terms):
        try:
            term_words = _parse(term)
        except TermError:
            continue
        pattern = _anywhere(term_words)
        if pattern is None:
            parsed.append(term_words)
        else:
            anywhere.append((pattern, term_words))
    if not (parsed or anywhere) or not text:
        return []
    spans = _anywhere_spans(text, anywhere) if anywhere else []
    words, source = _words_of(text) if parsed else ([], [])
    for i in range(len(words)):
        for term in parsed:
            end = i + len(term) - 1
            if end < len(words) and all(
                _word_matches(word, words[j][2], words[j][3]) for j, word in enumerate(term, i)
            ):
                stop = source[words[end][1] - 1] + 1
                while stop < len(text) and unicodedata.category(text[stop]).startswith("M"):
                    stop += 1  # the marks of the last letter (a decomposed "é") go with it
                spans.append((source[words[i][0]], stop))
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return merged


def _anywhere_spans(text: str, terms: list[tuple[re.Pattern[str], tuple[_Word, ...]]]
                    ) -> list[tuple[int, int]]:  # fmt: skip
    """Character spans of `text` where terms of scripts without spaces match (`_anywhere`)."""
    pieces = [_strip_accents(char) for char in text]
    source = [i for i, piece in enumerate(pieces) for _ in piece]
    segment = _Segment("".join(pieces))  # stripping is idempotent: offsets stay those of source
    spans = []
    for pattern, words in terms:
        position = 0
        while found := pattern.search(segment.folded, position):
            position = found.start() + 1
            if stop := _anywhere_end(segment, pattern, words, found.start()):
                begin = segment._exact_offset(found.start())
                end = source[segment._exact_offset(stop - 1)] + 1
                while end < len(text) and unicodedata.category(text[end]).startswith("M"):
                    end += 1  # the marks of the last letter go with it, as in term_spans
                spans.append((source[begin], end))
    return spans


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

        # An Aho-Corasick automaton over the folded first words of all terms finds, in one
        # pass of C over a segment, every place where a term may start; these candidates are
        # then checked word by word. Short first words in capitals ("AI", "A" of "A.I.") are
        # looked up as written instead: folded, every "a" and "ai" of a text (in "said") would
        # be a candidate, while a regular expression of capitals skips lowercase text in C.
        folded: dict[str, tuple[list[int], list[int]]] = {}
        short: dict[str, tuple[list[int], list[int]]] = {}
        # Terms of scripts without spaces have an automaton of their own, whose matches need
        # not start or end a word (see `_anywhere`): none, and no cost, in most configs.
        anywhere: dict[str, tuple[list[int], list[int]]] = {}
        self._patterns: dict[int, re.Pattern[str]] = {}
        for tid, term in enumerate(self._terms):
            first = term.words[0]
            pattern = _anywhere(term.words)
            if pattern is not None:
                self._patterns[tid] = pattern
                anywhere.setdefault(first.folded, ([], []))[0].append(tid)
                continue
            if first.exact is not None and len(first.exact) <= _SHORT:
                short.setdefault(first.exact, ([], []))[first.prefix].append(tid)
            else:
                folded.setdefault(first.folded, ([], []))[first.prefix].append(tid)
        self._automaton = _automaton(folded)
        self._anywhere = _automaton(anywhere)
        self._short = {key: (tuple(whole), tuple(prefixed))
                       for key, (whole, prefixed) in short.items()}  # fmt: skip
        self._capitals = (
            re.compile("|".join(map(re.escape, sorted(short, key=len, reverse=True))))
            if short
            else None
        )

    def match(self, title: str | None, text: str | None) -> dict[str, list[str]]:
        """topic name -> the terms (exactly as written in the rule) that matched, for every
        topic that applies. Topics in rule order; terms de-duplicated, in rule order."""
        segments = [self._scan(s) for s in (title, text) if s]
        found = {tid for segment in segments for tid in segment.hits}
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

    def _scan(self, text: str) -> _Segment:
        """Every occurrence of every term in one segment."""
        segment = _Segment(text)
        folded, size = segment.folded, len(segment.folded)
        for last, (length, whole, prefixed) in (
            self._automaton.iter(folded) if self._automaton else ()
        ):
            start = last - length + 1
            if start and ((c := folded[start - 1]).isalnum() or c == "_"):
                continue  # inside a word, not at its start
            if whole and (last + 1 == size or not ((c := folded[last + 1]).isalnum() or c == "_")):
                self._candidates(segment, whole, start, last + 1)
            if prefixed:
                self._candidates(segment, prefixed, start, _WORD.match(folded, start).end())  # type: ignore[union-attr]
        if self._capitals is not None:
            exact = segment.exact
            for capitals in self._capitals.finditer(exact):
                start = capitals.start()
                if start and _is_word(exact[start - 1]):
                    continue
                for length in range(1, capitals.end() - start + 1):
                    if (key := exact[start : start + length]) not in self._short:
                        continue
                    whole, prefixed = self._short[key]
                    begin, end = segment.folded_offset(start), segment.folded_offset(start + length)
                    if whole and (end == size or not _is_word(folded[end])):
                        self._candidates(segment, whole, begin, end)
                    if prefixed:
                        self._candidates(segment, prefixed, begin, _WORD.match(folded, begin).end())  # type: ignore[union-attr]
        if self._anywhere is not None:
            for last, (length, tids, _) in self._anywhere.iter(folded):
                start = last - length + 1
                for tid in tids:
                    words = self._terms[tid].words
                    if stop := _anywhere_end(segment, self._patterns[tid], words, start):
                        segment.hits.setdefault(tid, []).append((start, stop))
        return segment

    def _candidates(self, segment: _Segment, tids: tuple[int, ...], start: int, end: int) -> None:
        """Record the terms of `tids` that match from the word folded[start:end], whose
        folded form matches their first word."""
        hits = segment.hits
        for tid in tids:
            first, *rest = self._terms[tid].words
            if first.exact is not None and not _cased(first, segment.written(start, end)):
                continue
            stop = _rest(segment, rest, end) if rest else end
            if stop:
                if tid in hits:
                    hits[tid].append((start, stop))
                else:
                    hits[tid] = [(start, stop)]


def _rest(segment: _Segment, words: Iterable[_Word], end: int) -> int:
    """Where a term ends if `words` (its words after the first) follow the word ending at
    folded[end]; 0 if they do not."""
    folded = segment.folded
    for word in words:
        # Mostly one space, then the next word: its first letters tell most candidates apart
        # before the regular expression is run.
        if (
            folded.startswith(" ", end)
            and not folded.startswith(word.folded[:1], end + 1)
            and ((c := folded[end + 1 : end + 2]).isalnum() or c == "_")
        ):
            return 0
        following = _WORD.search(folded, end)
        if following is None:
            return 0
        token = following.group()
        if not (token.startswith(word.folded) if word.prefix else token == word.folded):
            return 0
        start, end = following.span()
        if word.exact is not None and not _cased(word, segment.written(start, end)):
            return 0
    return end


def _near(groups: tuple[tuple[int, ...], ...], span: int, segments: Iterable[_Segment]) -> set[int]:
    """Terms of the matches that lie in a window of `span` words holding one match per group."""
    matched: set[int] = set()
    for segment in segments:
        hits = segment.hits
        if not all(any(t in hits for t in group) for group in groups):
            continue
        spans = [(start, end, tid, g)
                 for g, group in enumerate(groups)
                 for tid in group
                 for start, end in hits.get(tid, ())]  # fmt: skip
        index = segment.word_indexes((o for start, end, _, _ in spans for o in (start, end)), span)
        # (first word, last word) of each match.
        occurrences = sorted((index[start], index[end] - 1, tid, g) for start, end, tid, g in spans)
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
