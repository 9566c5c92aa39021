"""Near-duplicate detection benchmark: quality on a labelled set built from the shared corpus,
and cost (signature, lookup, start-up build, memory) at 10k and 1M stored articles.

    python -m bench.neardup --quick      # 60 articles, 1k/5k entries: about 10 s, for CI
    python -m bench.neardup --no-grid    # defaults, then 10k/100k/1M: about 2 min, 5 GB RSS
    python -m bench.neardup              # and the grid and sweeps: about 12 min more

It exits with 1 when the defaults miss precision 0.99 or recall 0.95.

Labelled set, from `ground_truth == "full_body"` entries of ../shared/corpus/articles:

- positives: each article against a copy of it with another headline line, a dateline, other
  site boilerplate (each side its own), cut to its first 40% of paragraphs (a teaser, with and
  without a headline and a "read more" line), five words changed, or all of these at once. The
  originals of one kind of copy are indexed together and each copy is looked up: the right
  original is a true positive, another article a false positive, nothing a false negative.
  The corpus holds one article twice under one URL, updated: a positive too.
- negatives: pairs of different articles of one site (URL host), and of one source dataset and
  language; and streams (each article looked up before it is added, as the store does) of all
  articles, of all articles under one site's header and footer lines (a byline among them), and
  of their teasers under those lines (short texts sharing long boilerplate). Any match is a
  false positive.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import random
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from datasketch import MinHash, MinHashLSH

from crawler.match import near_duplicates as neardup
from crawler.match.near_duplicates import NearDuplicateIndex, signature

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "articles"

HEADER_LINES = [
    "Advertisement",
    "Skip to main content",
    "Share this article",
    "Share on Facebook Share on Twitter Share via Email",
    "Listen to this article",
    "Updated 3:42 PM ET, Tue November 19, 2019",
    "Subscribe to our newsletter",
    "Reading time: 4 minutes",
    "Key points",
    "Anzeige",
    "Teilen auf Facebook",
    "Lesezeit: 3 Minuten",
    "Publicité",
    "Temps de lecture : 3 min",
    "This story is part of our ongoing coverage and will be updated as more information "
    "becomes available.",
]
BYLINES = [
    "By Jane Doe, Associated Press",
    "By John Smith and Maria Garcia, Reuters",
    "Von Anna Müller, dpa",
    "Par Jean Dupont, AFP",
]
FOOTER_LINES = [
    "Reporting by John Smith; Editing by Jane Doe",
    "Our Standards: The Thomson Reuters Trust Principles.",
    "Copyright 2024 The Associated Press. All rights reserved. This material may not be "
    "published, broadcast, rewritten or redistributed without permission.",
    "Sign up for our daily newsletter to get the latest news delivered straight to your inbox "
    "every morning. You can unsubscribe at any time.",
    "Follow us on Twitter, Facebook and Instagram for the latest updates.",
    "This article originally appeared on Example News.",
    "© 2024 Example Media Group. All rights reserved.",
    "We use cookies to improve your experience on our site. By continuing to browse, you agree "
    "to our use of cookies and our privacy policy.",
    "Have a news tip? Contact our newsroom at tips@example.com or call us at any time.",
    "Mehr zum Thema",
    "Alle Rechte vorbehalten. Vervielfältigung nur mit Genehmigung der Redaktion.",
    "Lire aussi : notre dossier complet sur le sujet",
    "Tous droits réservés. Reproduction interdite sans autorisation préalable.",
    "Related: more stories from this section",
    "Comments are closed for this article.",
]
DATELINES = [
    "PARIS (Reuters) - ",
    "WASHINGTON (AP) — ",
    "BERLIN (dpa) - ",
    "LONDON, Nov 19 (Reuters) - ",
    "NEW YORK — ",
    "(AFP) - ",
]
READ_MORE = "Read the full story on our website."


@dataclass
class Article:
    id: str
    body: str
    host: str
    dataset: str
    lang: str | None


def load_articles(limit: int | None = None) -> tuple[list[Article], list[tuple[int, str]]]:
    """The articles, one per URL, and the later versions of an article found again under its
    URL (article index, body): real updates, so positives, not negatives."""
    articles: list[Article] = []
    updates: list[tuple[int, str]] = []
    by_url: dict[str, int] = {}
    with (CORPUS / "manifest.jsonl").open(encoding="utf-8") as manifest:
        for line in manifest:
            entry = json.loads(line)
            if entry["ground_truth"] != "full_body" or not entry["body"]:
                continue
            if entry["url"] in by_url:
                updates.append((by_url[entry["url"]], entry["body"]))
                continue
            by_url[entry["url"]] = len(articles)
            host = urlsplit(entry["url"]).hostname or ""
            articles.append(
                Article(entry["id"], entry["body"], host, entry["source_dataset"], entry["lang"])
            )
            if limit and len(articles) == limit:
                break
    return articles, updates


# --- transforms -----------------------------------------------------------------------------


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n" if "\n\n" in text else "\n") if p.strip()]


def template(rng: random.Random) -> tuple[list[str], list[str]]:
    """One site's header lines (a byline among them) and footer lines."""
    header = rng.sample(HEADER_LINES, rng.randint(2, 3)) + [rng.choice(BYLINES)]
    return header, rng.sample(FOOTER_LINES, rng.randint(3, 5))


def wrap(text: str, site: tuple[list[str], list[str]]) -> str:
    return "\n\n".join([*site[0], text, *site[1]])


def headline(rng: random.Random, vocabulary: list[str]) -> str:
    return " ".join(rng.choices(vocabulary, k=rng.randint(6, 14))).capitalize()


def teaser(text: str) -> str:
    """The first 40% of the paragraphs (of the words, for a text of one or two paragraphs)."""
    paras = paragraphs(text)
    if len(paras) >= 3:
        return "\n\n".join(paras[: math.ceil(0.4 * len(paras))])
    tokens = text.split()
    return " ".join(tokens[: max(1, math.ceil(0.4 * len(tokens)))])


def edit(text: str, rng: random.Random, vocabulary: list[str], count: int = 5) -> str:
    """`count` words replaced by others (a Han or kana character is a word)."""
    spans = [m.span() for m in neardup._WORDS.finditer(text)]
    for start, end in sorted(rng.sample(spans, min(count, len(spans))), reverse=True):
        text = text[:start] + rng.choice(vocabulary) + text[end:]
    return text


Transform = Callable[[str, random.Random, list[str]], tuple[str, str]]


def _boilerplate(text: str, rng: random.Random, vocab: list[str]) -> tuple[str, str]:
    return wrap(text, template(rng)), wrap(text, template(rng))


def _syndicated(text: str, rng: random.Random, vocab: list[str]) -> tuple[str, str]:
    original = wrap(headline(rng, vocab) + "\n\n" + text, template(rng))
    copy = rng.choice(DATELINES) + edit(text, rng, vocab)
    return original, wrap(headline(rng, vocab) + "\n\n" + copy, template(rng))


TRANSFORMS: dict[str, Transform] = {
    "verbatim": lambda t, rng, v: (t, t),
    "headline": lambda t, rng, v: (headline(rng, v) + "\n\n" + t, headline(rng, v) + "\n\n" + t),
    "dateline": lambda t, rng, v: (t, rng.choice(DATELINES) + t),
    "boilerplate": _boilerplate,
    "teaser": lambda t, rng, v: (t, teaser(t)),
    "teaser+headline+more": lambda t, rng, v: (
        t,
        headline(rng, v) + "\n\n" + teaser(t) + "\n\n" + READ_MORE,
    ),
    "edits": lambda t, rng, v: (t, edit(t, rng, v)),
    "syndicated": _syndicated,
}


@dataclass
class LabelledSet:
    # kind -> [(article index, original, copy)]
    positives: dict[str, list[tuple[int, str, str]]]
    # kind -> [(a, b)]: different articles
    pairs: dict[str, list[tuple[str, str]]]
    # kind -> texts of different articles, looked up before being added
    streams: dict[str, list[str]]
    texts: set[str] = field(default_factory=set)


def labelled_set(
    articles: list[Article],
    updates: list[tuple[int, str]],
    seed: int = 7,
    max_pairs: int = 2000,
) -> LabelledSet:
    rng = random.Random(seed)
    vocabulary = sorted({w for a in articles for w in a.body.split() if w.isalpha()})
    positives = {
        kind: [(i, *transform(a.body, rng, vocabulary)) for i, a in enumerate(articles)]
        for kind, transform in TRANSFORMS.items()
    }
    if updates:
        positives["corpus: same URL, updated"] = [(i, articles[i].body, b) for i, b in updates]
    by_host: dict[str, list[int]] = defaultdict(list)
    by_lang: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for i, a in enumerate(articles):
        by_host[a.host].append(i)
        by_lang[a.dataset, a.lang].append(i)
    same_site = [pair for group in by_host.values() for pair in itertools.combinations(group, 2)]
    same_lang = [pair for group in by_lang.values() for pair in itertools.combinations(group, 2)]
    same_lang = rng.sample(same_lang, min(max_pairs, len(same_lang)))
    site = template(rng)
    shared = [(wrap(articles[i].body, site), wrap(articles[j].body, site)) for i, j in same_lang]
    pairs = {
        "same site": [(articles[i].body, articles[j].body) for i, j in same_site],
        "same dataset+lang": [(articles[i].body, articles[j].body) for i, j in same_lang],
        "shared boilerplate": shared[: max_pairs // 2],
    }
    site = template(rng)
    streams = {
        "all articles": [a.body for a in articles],
        "one site's boilerplate": [wrap(a.body, site) for a in articles],
        "teasers, one site's boilerplate": [wrap(teaser(a.body), site) for a in articles],
    }
    labelled = LabelledSet(positives, pairs, streams)
    for triples in positives.values():
        labelled.texts.update(t for _, original, copy in triples for t in (original, copy))
    for pair_list in pairs.values():
        labelled.texts.update(t for pair in pair_list for t in pair)
    for stream in streams.values():
        labelled.texts.update(stream)
    return labelled


# --- quality --------------------------------------------------------------------------------


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    by_kind: dict[str, str] = field(default_factory=dict)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(labelled: LabelledSet, sigs: dict[str, bytes], **params: float) -> Score:
    def index() -> NearDuplicateIndex:
        return NearDuplicateIndex(**params)

    score = Score()
    for kind, triples in labelled.positives.items():
        originals = index()
        originals.extend((i, sigs[original]) for i, original, _ in triples)
        expected = [i for i, _, _ in triples]
        found = [originals.find(sigs[copy]) for _, _, copy in triples]
        right = sum(f == i for f, i in zip(found, expected, strict=True))
        wrong = sum(f is not None and f != i for f, i in zip(found, expected, strict=True))
        score.tp += right
        score.fp += wrong
        score.fn += len(triples) - right
        score.by_kind[kind] = f"recall {right}/{len(triples)}" + (
            f", {wrong} wrong" if wrong else ""
        )
    for kind, pairs in labelled.pairs.items():
        wrong = 0
        for a, b in pairs:
            one = index()
            one.add(0, sigs[a])
            wrong += one.find(sigs[b]) is not None
        score.fp += wrong
        score.by_kind[kind] = f"{wrong} FP / {len(pairs)} pairs"
    for kind, texts in labelled.streams.items():
        stream = index()
        wrong = 0
        for key, text in enumerate(texts):
            wrong += stream.find(sigs[text]) is not None
            stream.add(key, sigs[text])
        score.fp += wrong
        implicit = len(texts) * (len(texts) - 1) // 2
        score.by_kind[kind] = f"{wrong} FP / {len(texts)} lookups ({implicit} pairs)"
    return score


def sign_all(texts: Iterable[str], num_perm: int, shingle: int) -> tuple[dict[str, bytes], float]:
    texts = list(texts)
    start = time.perf_counter()
    sigs = {text: signature(text, num_perm=num_perm, shingle=shingle) for text in texts}
    return sigs, (time.perf_counter() - start) / len(texts) * 1e6


def grid(
    labelled: LabelledSet,
    thresholds: list[float],
    perms: list[int],
    shingles: list[int],
) -> list[tuple[float, int, int, Score, float]]:
    rows = []
    for num_perm, shingle in itertools.product(perms, shingles):
        sigs, micros = sign_all(labelled.texts, num_perm, shingle)
        for threshold in thresholds:
            score = evaluate(
                labelled, sigs, threshold=threshold, num_perm=num_perm, shingle=shingle
            )
            rows.append((threshold, num_perm, shingle, score, micros))
            print(
                f"  threshold {threshold:.2f}  num_perm {num_perm:3}  shingle {shingle}  "
                f"P {score.precision:.4f}  R {score.recall:.4f}  F1 {score.f1:.4f}  "
                f"FP {score.fp:3}  FN {score.fn:3}  signature {micros:6.0f} µs",
                flush=True,
            )
    return rows


def sweep(labelled: LabelledSet, name: str, values: list[float]) -> None:
    """One parameter around the defaults: of the index, or of the signature (`lead_words`, and
    `LONG_LINE`, the module's shortest line kept in signatures, 0 to keep every line)."""
    sigs, _ = sign_all(labelled.texts, neardup.NUM_PERM, neardup.SHINGLE)
    for value in values:
        if name == "lead_words":
            sigs_v = {t: signature(t, lead_words=int(value)) for t in labelled.texts}
            score = evaluate(labelled, sigs_v, lead_words=int(value))
        elif name == "LONG_LINE":
            default, neardup.LONG_LINE = neardup.LONG_LINE, int(value)
            try:
                score = evaluate(labelled, {t: signature(t) for t in labelled.texts})
            finally:
                neardup.LONG_LINE = default
        else:
            score = evaluate(labelled, sigs, **{name: value})
        print(
            f"  {name} {value:<6}  P {score.precision:.4f}  R {score.recall:.4f}  "
            f"F1 {score.f1:.4f}  FP {score.fp:3}  FN {score.fn:3}",
            flush=True,
        )


# --- cost -----------------------------------------------------------------------------------


def random_signatures(n: int, rng: np.random.Generator) -> list[bytes]:
    """Signatures of `n` unrelated texts of 100 to 2000 shingles (random MinHash values)."""
    p = neardup.NUM_PERM
    layout = np.dtype(
        [
            ("h", "u1", 6),
            ("count", "<u4"),
            ("lead_count", "<u4"),
            ("full", "<u4", p),
            ("lead", "<u4", p),
        ]
    )
    table = np.zeros(n, dtype=layout)
    table["h"] = np.frombuffer(signature("x")[:6], dtype=np.uint8)
    table["count"] = rng.integers(100, 2000, n)
    table["lead_count"] = neardup.LEAD_WORDS - neardup.SHINGLE + 1
    table["full"] = rng.integers(0, 2**32, (n, p), dtype=np.uint32)
    table["lead"] = rng.integers(0, 2**32, (n, p), dtype=np.uint32)
    data = table.tobytes()
    size = layout.itemsize
    return [data[i : i + size] for i in range(0, n * size, size)]


def timed(calls: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    calls()
    return (time.perf_counter() - start) / n * 1e6


def cost(articles: list[Article], sizes: list[int], lsh_sizes: list[int]) -> None:
    rng = np.random.default_rng(3)
    pyrng = random.Random(5)
    vocabulary = sorted({w for a in articles for w in a.body.split() if w.isalpha()})
    bodies = [a.body for a in articles]
    micros = timed(lambda: [signature(body) for body in bodies], len(bodies))
    words = sum(len(neardup.words(body)) for body in bodies) / len(bodies)
    print(
        f"signature(): {micros:.0f} µs per article (mean {words:.0f} words), "
        f"{len(signature(bodies[0]))} bytes"
    )
    stored = [signature(body) for body in bodies]
    queries = [signature(_syndicated(body, pyrng, vocabulary)[1]) for body in bodies]
    print(
        "\n     stored  build (extend)  memory (tracemalloc)              find hit  find miss"
        "  add (amortized)  hits found"
    )
    for n in sizes:
        cost_at(n, stored, queries, rng)
    bands, rows = neardup._bands(neardup.NUM_PERM, neardup.THRESHOLD)
    print(f"\n  datasketch MinHashLSH, one band set ({bands} bands x {rows} rows), for comparison:")
    for n in lsh_sizes:
        lsh_cost_at(n, bands, rows, rng)


def cost_at(n: int, real: list[bytes], queries: list[bytes], rng: np.random.Generator) -> None:
    """Index `n` signatures (the real ones last), then time lookups and additions."""
    stored = random_signatures(n - len(real), rng) + real
    misses = random_signatures(1000, rng)
    extra = random_signatures(min(n, 20_000), rng)
    gc.collect()
    start = time.perf_counter()
    index = NearDuplicateIndex()
    index.extend(enumerate(stored))
    build = time.perf_counter() - start
    del index
    gc.collect()
    tracemalloc.start()  # a second build: tracing slows allocations down
    index = NearDuplicateIndex()
    index.extend(enumerate(stored))
    memory, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del stored
    first = n - len(real)
    hits = sum(index.find(q) == first + i for i, q in enumerate(queries))
    find_hit = timed(lambda: [index.find(q) for q in queries], len(queries))
    find_miss = timed(lambda: [index.find(q) for q in misses], len(misses))
    add = timed(lambda: [index.add(n + i, s) for i, s in enumerate(extra)], len(extra))
    print(
        f"  {n:>9,}  {build:10.2f} s  {memory / n:6.0f} B/entry ({memory / 2**20:5.0f} MiB, "
        f"peak {peak / 2**20:5.0f})  {find_hit:6.0f} µs  {find_miss:6.0f} µs  {add:10.0f} µs"
        f"  {hits}/{len(queries)}",
        flush=True,
    )


def lsh_cost_at(n: int, bands: int, rows: int, rng: np.random.Generator) -> None:
    values = rng.integers(0, 2**32, (n, neardup.NUM_PERM), dtype=np.uint32)
    minhash = MinHash(num_perm=neardup.NUM_PERM)
    lsh = MinHashLSH(num_perm=neardup.NUM_PERM, params=(bands, rows))
    gc.collect()
    before = _rss()
    start = time.perf_counter()
    for i in range(n):
        minhash.hashvalues = values[i]
        lsh.insert(i, minhash, check_duplication=False)
    build = time.perf_counter() - start
    memory = _rss() - before

    def query() -> None:
        for i in range(1000):
            minhash.hashvalues = values[i]
            lsh.query(minhash)

    print(
        f"  {n:>9,}  insert {build:6.2f} s ({build / n * 1e6:.0f} µs/entry: "
        f"{build / n * 1e6:.0f} s per million)  RSS +{memory / n:,.0f} B/entry "
        f"({memory / n * 1e6 / 2**30:.1f} GiB per million)  query {timed(query, 1000):.0f} µs",
        flush=True,
    )


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


NAME = "neardup"


def run(quick: bool = False) -> list[dict[str, object]]:
    """For bench/run.py: quality at the defaults (the grid and the cost table need
    `python -m bench.neardup`, which prints them)."""
    articles, updates = load_articles(60 if quick else None)
    labelled = labelled_set(articles, updates, 7, max_pairs=200 if quick else 2000)
    sigs, _ = sign_all(labelled.texts, neardup.NUM_PERM, neardup.SHINGLE)
    score = evaluate(labelled, sigs)
    positives = sum(len(t) for t in labelled.positives.values())
    return [
        {
            "metric": "precision",
            "value": f"{score.precision:.4f}",
            "target": ">= 0.99",
            "met": score.precision >= 0.99,
            "note": f"{score.fp} false positives",
        },
        {
            "metric": "recall",
            "value": f"{score.recall:.4f}",
            "target": ">= 0.95",
            "met": score.recall >= 0.95,
            "note": f"{positives} copies of {len(articles)} articles",
        },
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI (< 30 s)")
    parser.add_argument("--no-grid", action="store_true", help="defaults only, no grid")
    parser.add_argument("--no-cost", action="store_true", help="quality only")
    parser.add_argument("--seed", type=int, default=7, help="of the labelled set's transforms")
    args = parser.parse_args(argv)
    articles, updates = load_articles(60 if args.quick else None)
    labelled = labelled_set(articles, updates, args.seed, max_pairs=200 if args.quick else 2000)
    positives = sum(len(t) for t in labelled.positives.values())
    print(
        f"{len(articles)} articles, {positives} positive pairs, "
        f"{sum(len(p) for p in labelled.pairs.values())} negative pairs, "
        f"{sum(len(s) for s in labelled.streams.values())} negative stream lookups"
    )
    print(
        f"\nDefaults: threshold {neardup.THRESHOLD}, num_perm {neardup.NUM_PERM}, shingle "
        f"{neardup.SHINGLE}, containment {neardup.CONTAINMENT}, min_shingles "
        f"{neardup.MIN_SHINGLES}, lead_words {neardup.LEAD_WORDS}"
    )
    sigs, _ = sign_all(labelled.texts, neardup.NUM_PERM, neardup.SHINGLE)
    score = evaluate(labelled, sigs)
    print(
        f"  precision {score.precision:.4f}  recall {score.recall:.4f}  F1 {score.f1:.4f}  "
        f"(TP {score.tp}, FP {score.fp}, FN {score.fn})"
    )
    for kind, result in score.by_kind.items():
        print(f"    {kind:32} {result}")
    if not args.no_grid and not args.quick:
        print("\nGrid (threshold x num_perm x shingle; containment, lead as defaults):")
        grid(labelled, [0.4, 0.5, 0.6, 0.7, 0.8], [64, 128, 256], [2, 3, 4, 5])
        print("\nAround the defaults:")
        sweep(labelled, "containment", [0.7, 0.75, 0.8, 0.85, 0.9, 1.0])
        sweep(labelled, "min_shingles", [10, 20, 30, 50])
        sweep(labelled, "lead_words", [30, 50, 80])
        sweep(labelled, "LONG_LINE", [0, 8, 12, 16])
    if not args.no_cost:
        print("\nCost (random signatures stand for the stored articles; hits: syndicated copies")
        print("of the corpus articles, stored among them; misses: unrelated signatures):")
        if args.quick:
            cost(articles, [1_000, 5_000], [5_000])
        else:
            cost(articles, [10_000, 100_000, 1_000_000], [10_000, 100_000])
    return 0 if score.precision >= 0.99 and score.recall >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
