"""Tagging: a 500-term topic set over the texts of `../shared/corpus/articles`, in ms per
article, through `crawler.match.terms.Matcher` (what the tag pipeline calls).

The topic set: the shipped topics (`config/topics.yaml`) plus topics built from the corpus's
own vocabulary, so that terms do match: words, acronyms in capitals (case-sensitive),
wildcards (`stem*`), phrases (two consecutive words), accented words, in `any`, `all`,
`all` with `near` and `none` rules, up to 500 distinct terms. The reference, in the same run:
one compiled regular expression per term (whole words, case-insensitive unless in capitals,
`*` as `\\w*`, phrases across any non-word run) searched in the accent-stripped title and
text, which finds terms but applies no rule.

Target: 0.2 ms per article or less. Run: `python bench/run.py tagging`.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.config.files import load_topics  # noqa: E402
from crawler.match.terms import Matcher, TopicRule  # noqa: E402
from tests.outlets import CORPUS  # noqa: E402

NAME = "tagging"
TERMS = 500
TARGET_MS = 0.2
_WORD = re.compile(r"\w+")


def texts() -> list[tuple[str | None, str]]:
    """(title, text) of every corpus page with a known text."""
    lines = (CORPUS / "articles" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [(r["title"], r["body"]) for r in map(json.loads, lines) if r["body"]]


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def shipped_rules() -> list[TopicRule]:
    return list(load_topics(REPO / "config" / "topics.yaml"))


def vocabulary(corpus: list[tuple[str | None, str]]) -> dict[str, list[str]]:
    """Candidate terms of each kind, most frequent first, from the corpus itself."""
    words: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for _, text in corpus:
        tokens = _WORD.findall(text)
        words.update(tokens)
        pairs.update(
            f"{a} {b}"
            for a, b in zip(tokens, tokens[1:], strict=False)
            if len(a) > 3 and len(b) > 3
        )
    # A beat's terms are names and subject words, found in a few articles each, not everyday
    # words: the pools start below the 1,000 commonest words.
    ranked = [w for w, _ in words.most_common() if len(w) > 3 and w.isalpha()][1000:]
    return {
        "word": [w.lower() for w in ranked],
        "acronym": [
            w for w, n in words.most_common() if w.isupper() and 2 <= len(w) <= 5 and w.isalpha()
        ][20:],
        "wildcard": [w[:7].lower() + "*" for w in ranked if len(w) > 8],
        "phrase": [p.lower() for p, n in pairs.most_common()[300:] if n >= 2],
        "accented": [w.lower() for w in ranked if strip_accents(w) != w],
    }


def synthetic_rules(corpus: list[tuple[str | None, str]], shipped: set[str]) -> list[TopicRule]:
    """Topics of 10 terms each, cycling through the kinds and the rule shapes, until the
    whole set (shipped topics included) has TERMS distinct terms."""
    pools = {kind: iter(dict.fromkeys(found)) for kind, found in vocabulary(corpus).items()}
    kinds = list(pools)
    seen = set(shipped)

    def take(kind_index: int) -> str:
        for offset in range(len(kinds)):
            for term in pools[kinds[(kind_index + offset) % len(kinds)]]:
                if term not in seen:
                    seen.add(term)
                    return term
        raise RuntimeError("corpus vocabulary exhausted")

    rules: list[TopicRule] = []
    count, n = len(shipped), 0
    while count < TERMS:
        terms = [take(n + i) for i in range(min(10, TERMS - count))]
        count += len(terms)
        name, shape = f"topic-{n}", n % 4
        if shape == 0 or len(terms) < 4:
            rules.append(TopicRule(name, any=tuple(terms)))
        elif shape == 1:
            rules.append(TopicRule(name, all=(tuple(terms[:5]), tuple(terms[5:]))))
        elif shape == 2:
            rules.append(TopicRule(name, all=(tuple(terms[:5]), tuple(terms[5:])), near=15))
        else:
            rules.append(TopicRule(name, any=tuple(terms[:-2]), none=tuple(terms[-2:])))
        n += 1
    return rules


def rule_terms(rule: TopicRule) -> tuple[str, ...]:
    """The terms of a rule, in order: `any`, then `all` groups, then `none`."""
    return (*rule.any, *(term for group in rule.all for term in group), *rule.none)


def benchmark_rules(corpus: list[tuple[str | None, str]]) -> list[TopicRule]:
    """The benchmark's topic set: the shipped topics, then synthetic ones up to TERMS terms."""
    shipped = shipped_rules()
    return shipped + synthetic_rules(corpus, {t for rule in shipped for t in rule_terms(rule)})


def term_regex(term: str) -> re.Pattern[str]:
    """The term as one regular expression over accent-stripped text."""
    parts = []
    for word, star in re.findall(r"(\w+)(\*?)", strip_accents(term)):
        cased = word.isupper()
        body = re.escape(word) if cased else f"(?i:{re.escape(word)})"
        parts.append(body + (r"\w*" if star else ""))
    return re.compile(r"\b" + r"\W+".join(parts) + r"\b")


def timed(action, items, repeat: int) -> float:
    """Median over `repeat` runs of the CPU seconds of one pass over `items`: this process's
    CPU time, not the wall clock, which other jobs on a shared machine stretch."""
    runs = []
    for _ in range(repeat):
        started = time.process_time()
        for item in items:
            action(item)
        runs.append(time.process_time() - started)
    return statistics.median(runs)


def run(quick: bool = False) -> list[dict[str, object]]:
    corpus = texts()
    shipped = shipped_rules()
    shipped_terms = {t for rule in shipped for t in rule_terms(rule)}
    rules = benchmark_rules(corpus)
    started = time.perf_counter()
    matcher = Matcher(rules)
    compile_ms = (time.perf_counter() - started) * 1000
    terms = list(dict.fromkeys(t for rule in rules for t in rule_terms(rule)))
    patterns = [term_regex(t) for t in terms]
    sample = corpus[:40] if quick else corpus
    repeat = 1 if quick else 5

    def reference(article: tuple[str | None, str]) -> None:
        title, text = article
        segments = [strip_accents(s) for s in (title, text) if s]
        for pattern in patterns:
            for segment in segments:
                if pattern.search(segment):
                    break

    matcher.match(*sample[0])  # warm-up: the accent table is built on first use
    ours = timed(lambda a: matcher.match(*a), sample, repeat) / len(sample) * 1000
    regex = timed(reference, sample, 1) / len(sample) * 1000  # ~90 ms an article: once
    shipped_matcher = Matcher(shipped)
    shipped_ms = timed(lambda a: shipped_matcher.match(*a), sample, repeat) / len(sample) * 1000
    tagged = sum(1 for a in sample if matcher.match(*a))
    words = statistics.mean(len(_WORD.findall(text)) for _, text in sample)
    return [
        {
            "metric": f"Matcher, {len(terms)} terms in {len(rules)} topics (ms/article)",
            "value": f"{ours:.3f}",
            "reference": f"regex per term {regex:.3f}",
            "ratio": f"{regex / ours:.1f}x faster",
            "target": f"<= {TARGET_MS}",
            "met": ours <= TARGET_MS,
            "note": f"{len(sample)} corpus texts, {words:.0f} words on average; "
            f"{tagged} tagged; CPU time, median of {repeat}",
        },
        {
            "metric": f"Matcher, shipped topics ({len(shipped_terms)} terms) (ms/article)",
            "value": f"{shipped_ms:.3f}",
        },
        {"metric": "Matcher construction, 500 terms", "value": f"{compile_ms:.1f} ms"},
    ]


def profile() -> None:
    """Where the matcher's time goes: its parts timed alone, then cProfile's top functions.
    `python bench/tagging.py --profile` (the output is kept in bench/profiles/tagging.txt)."""
    import cProfile
    import io
    import pstats

    from crawler.match.terms import _Segment

    corpus = texts()
    matcher = Matcher(benchmark_rules(corpus))
    matcher.match(*corpus[0])
    segments = [[_Segment(s) for s in article if s] for article in corpus]

    def cpu_ms(action, items) -> float:
        runs = []
        for _ in range(5):
            started = time.process_time()
            for item in items:
                action(item)
            runs.append((time.process_time() - started) / len(items) * 1000)
        return min(runs)

    def walk(article: list[_Segment]) -> None:
        for segment in article:
            for _ in matcher._automaton.iter(segment.folded):
                pass

    print("Parts of Matcher.match, ms per article (best of 5, CPU time):")
    print(
        f"  whole match                          {cpu_ms(lambda a: matcher.match(*a), corpus):.3f}"
    )
    print(
        f"  accent-strip + casefold (_Segment)   "
        f"{cpu_ms(lambda a: [_Segment(s) for s in a if s], corpus):.3f}"
    )
    print(f"  automaton walk alone (pyahocorasick) {cpu_ms(walk, segments):.3f}")
    profiler = cProfile.Profile()
    profiler.enable()
    for article in corpus:
        matcher.match(*article)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    print(out.getvalue().replace(str(REPO) + "/", ""))


if __name__ == "__main__":
    if "--profile" in sys.argv:
        profile()
    else:
        for line in run(quick="--quick" in sys.argv):
            print(line)
