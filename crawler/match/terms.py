"""Keyword topics: which topics an article is about, and through which of their terms.

Place in the flow: the tag pipeline builds one `Matcher` from the topics of topics.yaml and
calls `Matcher.match(article.title, article.text)` for every article; the result becomes
`Article.matches`. That method is the one way to match: `retag`, `topics test`, `topics eval`
and the web highlighting call it too (its result also gives where the counted terms stand,
`Matches.spans`, and why a topic did not apply, `Matches.why_not`). Pure logic: no Scrapy,
no I/O.

How terms match (a public contract; tests/test_terms.py has cases for each rule):

- A term written with a leading "=" is accent-sensitive (still case-insensitive, and
  case-sensitive for words in capitals): "=defense" matches "Defense" but not "défense",
  "=défense" not "defense".
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
  end of the title into the start of the text; but see `lead`.
- `any`: the topic applies if one of its terms matches.
- `all`: the topic applies if every group has a matching term, anywhere in title or text.
- `near: N` (with `all`): the matches must also be close: one match of every group within a
  span of at most N words of one segment, from the first word of the first match to the last
  word of the last. With near 15 and groups [["IA"], ["usage militaire"]], "Meta ouvre ses IA
  pour un usage militaire" applies; "artificial intelligence" in the first paragraph and
  "defence" 200 words later does not.
- A rule with both `any` and `all` applies if either part does: `any` lists terms that are
  enough on their own, `all` the combinations that are needed for the others.
- `lead: N` (with `near`, default 40, 0 for none): the title and the first N words of the
  text also make a window, if the title holds a match of some group and the two hold one of
  every group: "Army picks vendors" over "machine learning targeting" in the first sentence.
- `none`: if one of its terms matches anywhere, the topic does not apply.
- A term with a character of a script written without spaces between words (Chinese,
  Japanese, Thai, Lao, Khmer, Myanmar) matches as a substring, also inside a longer run of
  letters: "人工智能" matches "美军正在测试人工智能无人机". Its words match one after the other,
  with or without anything between them: "ロシア・ウクライナ" matches "ロシアウクライナ". For
  `near`, such a run of letters (often a whole sentence) counts as one word.
- A term with an invisible character (zero-width joiner or space, soft hyphen, byte order
  mark, any other format or control character but whitespace) is an error: it would split or
  hide words and the term would never match as it reads.
- `except` (`TopicRule.exceptions`): a match of an `any` or `all` term that lies inside a
  match of one of these terms does not count ("defense" inside "cyber defense"); the topic
  can still apply through other matches.
- Reported terms are written exactly as in the rule, each once, in the rule's order (`any`
  terms, then `all` groups): the `any` terms that matched and, if the `all` part applies, the
  terms of its groups that matched (with `near`: those inside the qualifying windows).

Accents are removed by compatibility decomposition (NFKD) and dropping every mark
(`crawler.text.folding.strip_every_mark`, which says why tagging drops more than the other stages),
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

from crawler.errors import TermError
from crawler.text.folding import strip_every_mark

__all__ = [
    "DEFAULT_LEAD",
    "Matcher",
    "Matches",
    "Miss",
    "TermError",
    "TopicRule",
    "check_term",
    "term_spans",
]

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
# With `near`: the title and this many first words of the text count as one window.
DEFAULT_LEAD = 40


@dataclass(frozen=True)
class TopicRule:
    """One topic, as configured; see the module docstring for what each field means."""

    name: str
    description: str = ""
    any: tuple[str, ...] = ()  # one of these terms must match
    all: tuple[tuple[str, ...], ...] = ()  # every group must match at least once
    none: tuple[str, ...] = ()  # any match vetoes the topic
    near: int | None = None  # with `all`: one match of every group within a span of N words
    # With `near`: the title and the first `lead` words of the text also make a window
    # (None: DEFAULT_LEAD; 0: no such window).
    lead: int | None = None
    # A match of an `any` or `all` term inside a match of one of these does not count.
    exceptions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Word:
    folded: str  # accent-stripped and casefolded: compared with every word of the text
    exact: str | None  # accent-stripped only, for a word written in capitals
    prefix: bool  # written with a trailing `*`
    accents: str | None = None  # NFC and casefolded, for a term marked `=` (accents count)


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
    lead: int  # 0: the title and the lead make no window
    exceptions: tuple[int, ...]


def _parse(term: str) -> tuple[_Word, ...]:
    if not isinstance(term, str):  # YAML turns `- 2024` or `- yes` into non-strings
        raise TermError(f"term {term!r} is a {type(term).__name__}, not a string")
    # A leading "=" makes accents count: "=defense" is not French "défense".
    accented = term.startswith("=")
    body = term[1:] if accented else term
    if not body.strip():
        raise TermError(f"term {term!r} is empty")
    for char in term:
        if unicodedata.category(char) in ("Cf", "Cc", "Cs") and not char.isspace():
            name = unicodedata.name(char, "a control character")
            raise TermError(
                f"term {term!r} contains an invisible character, U+{ord(char):04X} "
                f"({name}), so it never matches as it reads: remove it"
            )
    stripped = strip_every_mark(body)
    if _BAD_STAR.search(stripped):
        raise TermError(f"term {term!r}: '*' may only end a word, as in 'militar*'")
    words = tuple(
        _Word(word.casefold(), word if word.isupper() else None, star == "*")
        for word, star in _TERM_WORD.findall(stripped)
    )
    if not words:
        raise TermError(f"term {term!r} has no word characters (letters or digits)")
    if accented:
        written = [word for word, _ in _TERM_WORD.findall(unicodedata.normalize("NFC", body))]
        if len(written) != len(words):  # a mark that is no letter splits the word
            raise TermError(f"term {term!r}: its accents split its words; drop the '='")
        words = tuple(
            _Word(w.folded, w.exact, w.prefix, unicodedata.normalize("NFC", a).casefold())
            for w, a in zip(words, written, strict=True)
        )
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


def _anywhere_end(
    segment: _Segment, pattern: re.Pattern[str], words: tuple[_Word, ...], start: int
) -> int:
    """Where the term of `pattern` (see `_anywhere`) ends if it matches at folded[start], with
    its capitals; 0 if it does not."""
    found = pattern.match(segment.folded, start)
    if found is None:
        return 0
    for group, word in enumerate(words, 1):
        if word.exact is not None and not _cased(word, segment.written(*found.span(group))):
            return 0
    return found.end()


def _word_matches(word: _Word, exact: str, folded: str, original: Callable[[], str]) -> bool:
    """Whether `word` of a term matches a word of a text, given accent-stripped as written,
    casefolded, and (called only for a term marked `=`) as written with its accents."""
    matches = folded.startswith(word.folded) if word.prefix else folded == word.folded
    return (
        matches
        and (word.exact is None or _cased(word, exact))
        and (word.accents is None or _accented(word, original()))
    )


def _accented(word: _Word, written: str) -> bool:
    """Whether a text word, as written with its accents, has the accents of `word`."""
    text = unicodedata.normalize("NFC", written).casefold()
    return text.startswith(word.accents) if word.prefix else text == word.accents


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
    return written.startswith(word.exact) if word.prefix else written == word.exact


class _Segment:
    """One segment (title or text) as matched: its accent-stripped text `exact`, that text
    casefolded, and the matches: term id -> (start, end) character offsets in `folded`, in
    order."""

    __slots__ = ("text", "exact", "folded", "hits", "_longer", "_source")

    def __init__(self, text: str) -> None:
        self.text = text
        self._source: list[int] | None = None
        self.exact = strip_every_mark(text)
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

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span of `text` that folded[start:end] comes from, with the marks that follow
        its last letter (a decomposed "é")."""
        first, last = self._exact_offset(start), self._exact_offset(end - 1)
        if self._source is None:
            self._source = _sources(self.text, self.exact)
        source, text = self._source, self.text
        begin, stop = source[min(first, len(source) - 1)], source[min(last, len(source) - 1)] + 1
        while stop < len(text) and unicodedata.category(text[stop]).startswith("M"):
            stop += 1
        return begin, stop

    def accented(self, word: _Word, start: int, end: int) -> bool:
        """Whether the word folded[start:end] has the accents of `word` (a term marked `=`)."""
        begin, stop = self.original(start, end)
        return _accented(word, self.text[begin:stop])

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


def _sources(text: str, exact: str) -> list[int]:
    """For each character of `exact` (`text` accent-stripped), the index of the character of
    `text` it comes from. Built character by character, and only when asked for: for
    highlighting and for terms marked `=`."""
    if text.isascii():
        return list(range(len(text)))
    pieces = [strip_every_mark(char) for char in text]
    source = [i for i, piece in enumerate(pieces) for _ in piece]
    # Stripped whole, a text whose marks beyond the BMP are reordered differs: no map then,
    # but offsets clipped to the text rather than an error.
    return source if len(source) == len(exact) else list(range(len(exact)))


@lru_cache(maxsize=16)
def _words_of(text: str) -> tuple[list[tuple[int, int, str, str]], list[int]]:
    """The words of `text` for `term_spans`: (start, end, accent-stripped, casefolded), with
    offsets in the accent-stripped text, and the map from those offsets back to `text`.
    The words are those of the accent-stripped text, as for `Matcher` (marks dropped inside
    a word join it: "हिन्दी" is one word)."""
    pieces = [strip_every_mark(char) for char in text]
    source = [i for i, piece in enumerate(pieces) for _ in piece]
    words = [
        (match.start(), match.end(), match.group(), match.group().casefold())
        for match in _WORD.finditer("".join(pieces))
    ]
    return words, source


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Character spans sorted, overlapping or touching ones merged (for highlighting)."""
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return merged


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
                _word_matches(
                    word,
                    words[j][2],
                    words[j][3],
                    lambda j=j: _written(text, source, words[j][0], words[j][1]),
                )
                for j, word in enumerate(term, i)
            ):
                stop = source[words[end][1] - 1] + 1
                while stop < len(text) and unicodedata.category(text[stop]).startswith("M"):
                    stop += 1  # the marks of the last letter (a decomposed "é") go with it
                spans.append((source[words[i][0]], stop))
    return merge_spans(spans)


def _anywhere_spans(
    text: str, terms: list[tuple[re.Pattern[str], tuple[_Word, ...]]]
) -> list[tuple[int, int]]:
    """Character spans of `text` where terms of scripts without spaces match (`_anywhere`)."""
    pieces = [strip_every_mark(char) for char in text]
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


def _written(text: str, source: list[int], start: int, end: int) -> str:
    """The characters of `text` that the accent-stripped word [start, end) comes from."""
    stop = source[end - 1] + 1
    while stop < len(text) and unicodedata.category(text[stop]).startswith("M"):
        stop += 1
    return text[source[start] : stop]


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
    lead = DEFAULT_LEAD if rule.lead is None else rule.lead
    if isinstance(lead, bool) or not isinstance(lead, int) or lead < 0:
        raise TermError(f"topic {name!r}: `lead` must be a number of words, not {lead!r}")
    exceptions = tuple(term_id(t) for t in _terms_list(rule.exceptions, "`except`", name))
    order = tuple(dict.fromkeys((*any_, *(t for group in groups for t in group))))
    return _Rule(name, any_, groups, none, near, order, lead if near else 0, exceptions)


class Matcher:
    """Topic rules compiled once, matched against many articles."""

    def __init__(self, rules: Sequence[TopicRule]) -> None:
        self._terms: list[_Term] = []
        ids: dict[str, int] = {}
        self._ids = ids  # term as written -> id
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

        self.rules = tuple(rules)  # as given
        self.topics = tuple(rule.name for rule in rules)
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
        self._short = {
            key: (tuple(whole), tuple(prefixed)) for key, (whole, prefixed) in short.items()
        }
        self._capitals = (
            re.compile("|".join(map(re.escape, sorted(short, key=len, reverse=True))))
            if short
            else None
        )

    def match(self, title: str | None, text: str | None) -> Matches:
        """The one way to match an article, used by the crawl, `retag`, `topics test`,
        `topics eval` and the web highlighting: topic name -> the terms (exactly as written in
        the rule) that matched, for every topic that applies; topics and terms in rule order,
        each term once. The result also says where those terms stand (`Matches.spans`) and why
        another topic did not apply (`Matches.why_not`)."""
        segments = (self._scan(title) if title else None, self._scan(text) if text else None)
        result = Matches(self, segments)
        found = {tid for segment in segments if segment for tid in segment.hits}
        if not found:
            return result
        for rule in self._rules:
            if any(t in found for t in rule.none):
                continue
            hits, counted = _counted(rule, segments, found)
            matched = _applies(rule, segments, hits, counted)
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
                self._candidates(segment, prefixed, start, _WORD.match(folded, start).end())
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
                        self._candidates(segment, prefixed, begin, _WORD.match(folded, begin).end())
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
            if first.accents is not None and not segment.accented(first, start, end):
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
        if word.accents is not None and not segment.accented(word, start, end):
            return 0
    return end


Hits = dict[int, list[tuple[int, int]]]  # term id -> (start, end) in a segment's `folded`


def _counted(
    rule: _Rule, segments: Sequence[_Segment | None], found: set[int]
) -> tuple[list[Hits], set[int]]:
    """The hits of each segment (title, text) that count for `rule`, without those inside a
    match of one of its exceptions, and their term ids. Most articles have no exception: the
    segments' own hits then, and `found`, the ids of all of them."""
    if not any(t in found for t in rule.exceptions):
        return [segment.hits if segment else {} for segment in segments], found
    counted = []
    for segment in segments:
        hits = segment.hits if segment else {}
        cancel = [span for t in rule.exceptions for span in hits.get(t, ())]
        if cancel:
            kept = {
                tid: [(s, e) for s, e in spans if not any(a <= s and e <= b for a, b in cancel)]
                for tid, spans in hits.items()
            }
            hits = {tid: spans for tid, spans in kept.items() if spans}
        counted.append(hits)
    return counted, {tid for hits in counted for tid in hits}


def _applies(
    rule: _Rule, segments: Sequence[_Segment | None], hits: Sequence[Hits], found: set[int]
) -> set[int]:
    """The terms through which `rule` applies, given the hits that count and their ids; empty
    if it does not. (`none` is checked before.)"""
    matched = {t for t in rule.any if t in found}
    if rule.all and all(any(t in found for t in group) for group in rule.all):
        if rule.near is None:
            matched.update(t for group in rule.all for t in group if t in found)
        else:
            pairs = [(s, h) for s, h in zip(segments, hits, strict=True) if s is not None]
            matched.update(_near(rule.all, rule.near, pairs))
            if rule.lead and segments[0] is not None and segments[1] is not None:
                matched.update(_lead(rule.all, rule.lead, hits[0], segments[1], hits[1]))
    return matched


def _lead(
    groups: tuple[tuple[int, ...], ...], lead: int, title: Hits, text: _Segment, text_hits: Hits
) -> set[int]:
    """The terms of the title and of the first `lead` words of the text, if together they
    hold a match of every group and the title one at least ("Army picks vendors" over
    "machine learning targeting" in the first sentence); else none."""
    in_title = {g for g, group in enumerate(groups) if any(t in title for t in group)}
    if not in_title:
        return set()
    ends = sorted(
        (end, tid, g)
        for g, group in enumerate(groups)
        for tid in group
        for _, end in text_hits.get(tid, ())
    )
    # Words are counted from the start, and only as far as the lead: a long text with many
    # matches costs no more than a short one.
    in_lead: set[tuple[int, int]] = set()
    index, previous = 0, 0
    for end, tid, g in ends:
        words = _WORD.finditer(text.folded, previous, end)
        index += sum(1 for _ in islice(words, lead + 1 - index))
        if index > lead:
            break
        in_lead.add((tid, g))
        previous = end
    if in_title | {g for _, g in in_lead} != set(range(len(groups))):
        return set()
    return {t for g in in_title for t in groups[g] if t in title} | {t for t, _ in in_lead}


def _near(
    groups: tuple[tuple[int, ...], ...], span: int, segments: Iterable[tuple[_Segment, Hits]]
) -> set[int]:
    """Terms of the matches that lie in a window of `span` words holding one match per group."""
    matched: set[int] = set()
    for segment, hits in segments:
        if not all(any(t in hits for t in group) for group in groups):
            continue
        spans = [
            (start, end, tid, g)
            for g, group in enumerate(groups)
            for tid in group
            for start, end in hits.get(tid, ())
        ]
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


_PARTS = ("title", "text")


class Matches(dict[str, list[str]]):
    """What `Matcher.match` found in one article: topic name -> terms, a plain mapping (and
    equal to a dict), with where those terms stand and why other topics did not apply."""

    __slots__ = ("_matcher", "_segments")

    def __init__(self, matcher: Matcher, segments: tuple[_Segment | None, _Segment | None]):
        super().__init__()
        self._matcher = matcher
        self._segments = segments

    def __reduce__(self) -> tuple[type, tuple[dict[str, list[str]]]]:
        # Sent between processes (retag's workers) as the plain mapping, not the texts.
        return dict, (dict(self),)

    def spans(self, part: str, topics: Iterable[str] | None = None) -> list[tuple[int, int]]:
        """Character spans of the title (`part` "title") or text ("text"), as given to
        `match`, where the reported terms of `topics` (default: every topic that applied)
        count, merged, in order: every match of those terms but the ones an exception
        cancels. For highlighting."""
        index = _PARTS.index(part)
        segment = self._segments[index]
        if segment is None:
            return []
        wanted = set(self) if topics is None else set(topics) & set(self)
        found = {tid for s in self._segments if s for tid in s.hits}
        spans = []
        for rule in self._matcher._rules:
            if rule.name in wanted:
                hits = _counted(rule, self._segments, found)[0][index]
                for term in self[rule.name]:
                    tid = self._matcher._ids[term]
                    spans += [segment.original(s, e) for s, e in hits.get(tid, ())]
        return merge_spans(spans)

    def why_not(self, topic: str) -> Miss | None:
        """Why `topic` did not apply to this article; None if it did. Raises KeyError for a
        topic the matcher does not have."""
        if topic in self:
            return None
        matcher = self._matcher
        rule = next((r for r in matcher._rules if r.name == topic), None)
        if rule is None:
            raise KeyError(topic)
        segments = self._segments
        texts = matcher._terms
        found = {tid for s in segments if s for tid in s.hits}
        vetoed = tuple(texts[t].text for t in rule.none if t in found)
        hits, counted = _counted(rule, segments, found)
        cancelled = []
        for t in rule.order:
            lost = sum(len(s.hits.get(t, ())) for s in segments if s) - sum(
                len(h.get(t, ())) for h in hits
            )
            if lost:
                exceptions = [texts[e].text for e in rule.exceptions if e in found]
                cancelled.append((texts[t].text, ", ".join(exceptions)))
        absent = tuple(
            g for g, group in enumerate(rule.all) if not any(t in counted for t in group)
        )
        closest = None
        if rule.all and not absent and rule.near is not None:
            pairs = [(s, h) for s, h in zip(segments, hits, strict=True) if s is not None]
            closest = _closest(rule.all, pairs)
        lead_absent: tuple[int, ...] = ()
        if rule.lead and segments[0] is not None and not absent:
            lead_hits = dict(hits[0])
            if segments[1] is not None:
                ends = [(e, t) for g in rule.all for t in g for _, e in hits[1].get(t, ())]
                index = segments[1].word_indexes((e for e, _ in ends), rule.lead)
                for end, t in ends:
                    if index[end] <= rule.lead:
                        lead_hits.setdefault(t, [])
            lead_absent = tuple(
                g for g, group in enumerate(rule.all) if not any(t in lead_hits for t in group)
            )
        return Miss(
            topic=topic,
            vetoed_by=vetoed,
            no_any=bool(rule.any) and not any(t in counted for t in rule.any),
            absent=tuple(tuple(texts[t].text for t in rule.all[g]) for g in absent),
            absent_groups=tuple(g + 1 for g in absent),
            closest=closest,
            near=rule.near,
            lead=rule.lead,
            lead_absent=tuple(g + 1 for g in lead_absent),
            title_groups=bool(segments[0])
            and any(t in hits[0] for group in rule.all for t in group),
            cancelled=tuple(cancelled),
        )


@dataclass(frozen=True)
class Miss:
    """Why a topic did not apply to an article: each part of its rule that failed."""

    topic: str
    vetoed_by: tuple[str, ...] = ()  # its `none` terms found
    no_any: bool = False  # it has `any` terms, and none matched
    absent: tuple[tuple[str, ...], ...] = ()  # the terms of each `all` group without a match
    absent_groups: tuple[int, ...] = ()  # their numbers, from 1
    closest: int | None = None  # every group matched: the narrowest span holding one
    # match of each, in words, within the title or the text (None: not in one of them)
    near: int | None = None
    lead: int = 0
    lead_absent: tuple[int, ...] = ()  # groups missing from the title and the lead
    title_groups: bool = False  # the title has a match of some group
    cancelled: tuple[tuple[str, str], ...] = ()  # (term, the exceptions it stood in)

    def reasons(self) -> list[str]:
        """One line per failed part, for people."""
        lines = [f"vetoed by `none` term {term!r}" for term in self.vetoed_by]
        if self.no_any:
            lines.append("no `any` term matched")
        for number, terms in zip(self.absent_groups, self.absent, strict=True):
            shown = ", ".join(terms[:4]) + (", …" if len(terms) > 4 else "")
            lines.append(f"`all` group {number} ({shown}) has no match")
        if self.near is not None and not self.absent:
            if self.closest is None:
                lines.append("the groups match, but not within the title or within the text")
            else:
                lines.append(f"closest window: {self.closest} words, over `near: {self.near}`")
            if self.lead and not self.title_groups:
                lines.append(
                    "the title has no match of any group, so it makes no window "
                    f"with the first {self.lead} words"
                )
            elif self.lead:
                groups = ", ".join(map(str, self.lead_absent))
                lines.append(f"title + first {self.lead} words: no match of group {groups}")
        for term, exceptions in self.cancelled:
            lines.append(f"{term!r} did not count where it stood inside {exceptions}")
        return lines


def _closest(
    groups: tuple[tuple[int, ...], ...], segments: Iterable[tuple[_Segment, Hits]]
) -> int | None:
    """The fewest words of a span of one segment holding a match of every group, or None."""
    best: int | None = None
    for segment, hits in segments:
        if not all(any(t in hits for t in group) for group in groups):
            continue
        spans = [
            (start, end, g)
            for g, group in enumerate(groups)
            for tid in group
            for start, end in hits.get(tid, ())
        ]
        index = segment.word_indexes((o for s, e, _ in spans for o in (s, e)), len(segment.folded))
        occurrences = sorted((index[s], index[e] - 1, g) for s, e, g in spans)
        for k, (first, _, _) in enumerate(occurrences):
            seen: set[int] = set()
            last = first
            for start, end, g in occurrences[k:]:
                if best is not None and start - first + 1 >= best:
                    break  # the rest start later still
                seen.add(g)
                last = max(last, end)
                if len(seen) == len(groups):
                    best = min(best or last - first + 1, last - first + 1)
                    break
    return best
