"""Story clusters: pure logic for the story stage, no Scrapy, no database, no I/O.

Articles from different outlets about one event are written differently (so they are not
near-duplicates) but share the event's rare terms: names of people, organisations, places and
products, figures, and the distinctive words of their headlines. An article joins the story of
the recent article it shares the most rare-term weight with, when that overlap is strong
enough and their titles agree; else it starts a story of its own.

Rarity is measured on the window itself (document frequencies of the articles it holds), so
"Pentagon" on a defence beat weighs less than "Llama", and nothing is tuned per outlet.
"""

from __future__ import annotations

import math
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crawler.text.folding import fold

__all__ = ["MIN_OVERLAP", "MIN_SHARED", "MIN_TITLE", "StoryIndex", "story_terms"]

WINDOW = timedelta(days=3)
LEAD_WORDS = 120  # names are introduced early; the rest of the text adds noise
MIN_SHARED = 3  # rare terms two articles must share
MIN_OVERLAP = 0.3  # shared weight over the smaller article's weight
MIN_TITLE = 0.1  # weighted overlap of title terms
COMMON_SHARE = 0.2  # terms in more of the window's articles than this say nothing

TOKEN = re.compile(r"\w[\w'’.-]*\w|\w", re.UNICODE)
# Capitalised words that start sentences or are everywhere in news copy.
STOP = frozenset(
    """the a an and or but of in on at to for from with by as is are was were be been this that
    these those it its he she they we you i his her their our said says say told after before
    over under about into than then there here when where while who whom which what why how
    not no new more most also just will would could should may might can has have had do does
    did mr mrs ms dr monday tuesday wednesday thursday friday saturday sunday january february
    march april may june july august september october november december le la les un une des
    du de et ou en au aux pour par sur dans avec est sont der die das ein eine und oder mit
    von zu im am auf für ist sind nicht""".split()  # noqa: SIM905 - a word list reads as text
)


def _fold(word: str) -> str:
    return fold(word).strip(".-'’")


def story_terms(title: str | None, text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(terms of the article, terms of its title): capitalised words not opening a sentence,
    acronyms and figures of the title and lead, and the title's longer words."""
    title_terms = {
        _fold(word)
        for word in TOKEN.findall(title or "")
        if len(word) >= 4 or word.isupper() or word[:1].isdigit()
    } - STOP
    terms = set(title_terms)
    lead = TOKEN.findall(text)[:LEAD_WORDS]
    for position, word in enumerate(lead):
        opens_sentence = position == 0 or lead[position - 1].endswith((".", "!", "?", ":"))
        name_like = word[:1].isupper() and not opens_sentence
        figure = word[:1].isdigit() and len(word) >= 3
        if name_like or figure or (word.isupper() and len(word) >= 2):
            terms.add(_fold(word))
    terms -= STOP
    terms.discard("")
    return frozenset(terms), frozenset(title_terms - {""})


@dataclass
class _Entry:
    key: int
    story: int
    at: datetime
    terms: frozenset[str]
    title_terms: frozenset[str]


@dataclass
class StoryIndex:
    """The articles of the last `window`, to find the story a new article belongs to."""

    window: timedelta = WINDOW
    entries: deque[_Entry] = field(default_factory=deque)
    by_term: dict[str, list[_Entry]] = field(default_factory=dict)
    df: Counter[str] = field(default_factory=Counter)
    keys: set[int] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: object) -> bool:
        """Whether article `key` is in the window."""
        return key in self.keys

    def _expire(self, now: datetime) -> None:
        while self.entries and self.entries[0].at < now - self.window:
            old = self.entries.popleft()
            self.keys.discard(old.key)
            for term in old.terms:
                self.df[term] -= 1
                postings = self.by_term[term]
                postings.remove(old)
                if not postings:
                    del self.by_term[term], self.df[term]

    def _weight(self, term: str) -> float:
        total = max(len(self.entries), 1)
        count = self.df.get(term, 0)
        if count > max(COMMON_SHARE * total, 2):
            return 0.0
        return math.log((total + 1) / (count + 1)) + 1.0

    def find(self, terms: frozenset[str], title_terms: frozenset[str], now: datetime) -> int | None:
        """The story of the recent article closest to these terms, or None."""
        self._expire(now)
        # A candidate shares MIN_SHARED terms that weigh something (a term in too many of the
        # window's articles weighs nothing), so it is in the postings of one of those terms
        # but the MIN_SHARED - 1 most common: these, as long as the window for a recurring
        # word, are only looked up, never read (reading them made each find linear).
        weighted = sorted(
            (term for term in terms if self._weight(term) > 0),
            key=lambda term: len(self.by_term.get(term, ())),
        )
        split = max(len(weighted) - (MIN_SHARED - 1), 0)
        rare, common = weighted[:split], weighted[split:]
        candidates: Counter[int] = Counter()
        entries: dict[int, _Entry] = {}
        for term in rare:
            for entry in self.by_term.get(term, ()):
                candidates[entry.key] += 1
                entries[entry.key] = entry
        best, best_score = None, 0.0
        own = sum(self._weight(term) for term in terms)
        for key, rare_count in candidates.items():
            entry = entries[key]
            if rare_count + sum(1 for term in common if term in entry.terms) < MIN_SHARED:
                continue
            shared = terms & entry.terms
            weight = sum(self._weight(term) for term in shared)
            other = sum(self._weight(term) for term in entry.terms)
            overlap = weight / max(min(own, other), 1e-9)
            title_weight = sum(self._weight(t) for t in title_terms & entry.title_terms)
            title_total = min(
                sum(self._weight(t) for t in title_terms),
                sum(self._weight(t) for t in entry.title_terms),
            )
            title_overlap = title_weight / title_total if title_total else 0.0
            if overlap >= MIN_OVERLAP and title_overlap >= MIN_TITLE and overlap > best_score:
                best, best_score = entry.story, overlap
        return best

    def add(
        self, key: int, story: int, terms: frozenset[str], title_terms: frozenset[str], at: datetime
    ) -> None:
        entry = _Entry(key, story, at, terms, title_terms)
        self.entries.append(entry)
        self.keys.add(key)
        for term in terms:
            self.df[term] += 1
            self.by_term.setdefault(term, []).append(entry)
