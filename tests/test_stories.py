"""crawler.match.stories: `StoryIndex.find` skips the postings of the most common terms, and still
picks what comparing the article with every article of the window picks."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from crawler.match.stories import MIN_OVERLAP, MIN_SHARED, MIN_TITLE, StoryIndex

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def best_stories(
    index: StoryIndex, terms: frozenset[str], title_terms: frozenset[str]
) -> tuple[set[int], float]:
    """Every story that scores best against the whole window, and that score."""
    weight = index._weight
    own = sum(weight(term) for term in terms)
    best: set[int] = set()
    best_score = 0.0
    for entry in index.entries:
        shared = terms & entry.terms
        if sum(1 for term in shared if weight(term) > 0) < MIN_SHARED:
            continue
        overlap = sum(weight(term) for term in shared) / max(
            min(own, sum(weight(term) for term in entry.terms)), 1e-9
        )
        title_total = min(
            sum(weight(t) for t in title_terms), sum(weight(t) for t in entry.title_terms)
        )
        title_weight = sum(weight(t) for t in title_terms & entry.title_terms)
        title_overlap = title_weight / title_total if title_total else 0.0
        if overlap < MIN_OVERLAP or title_overlap < MIN_TITLE or overlap < best_score:
            continue
        if overlap > best_score:
            best, best_score = set(), overlap
        best.add(entry.story)
    return best, best_score


def test_find_agrees_with_comparing_every_article() -> None:
    chance = random.Random(7)
    # Zipf-like vocabulary: a few terms in many articles (some in more than COMMON_SHARE of
    # them, weighing nothing), most in a few.
    vocabulary = [f"t{n}" for n in range(400)]
    weights = [1 / (n + 1) for n in range(len(vocabulary))]

    def article() -> tuple[frozenset[str], frozenset[str]]:
        terms = frozenset(chance.choices(vocabulary, weights, k=chance.randint(1, 14)))
        return terms, frozenset(chance.sample(sorted(terms), k=min(len(terms), 3)))

    index = StoryIndex()
    for key in range(1, 1500):
        terms, title_terms = article()
        index.add(
            key, chance.choice([key, max(1, key - 3)]), terms, title_terms, NOW - timedelta(hours=1)
        )
    found = 0
    for _ in range(600):
        terms, title_terms = article()
        expected, _ = best_stories(index, terms, title_terms)
        story = index.find(terms, title_terms, NOW)
        if expected:
            assert story in expected
            found += 1
        else:
            assert story is None
    assert found > 50  # the comparison is not vacuous


def test_an_article_with_fewer_weighted_terms_than_needed_joins_nothing() -> None:
    index = StoryIndex()
    for key in range(1, 50):
        index.add(
            key,
            key,
            frozenset({"story", f"n{key}", "alpha"}),
            frozenset({"story"}),
            NOW - timedelta(hours=1),
        )
    assert index.find(frozenset({"story", "alpha"}), frozenset({"story"}), NOW) is None
