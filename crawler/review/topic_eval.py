"""Measuring topics on labelled articles: precision, recall and F1, and why each miss missed.

Review stage of the flow, read-only. `newsmon topics eval FILE` reads hand-labelled records
(JSONL, gzipped or not), `newsmon topics eval --reviews` the store's review verdicts; both
match every record through `Matcher.match`, as the crawl does, and count: "any topic"
overall and per language, each topic (against the `topics` a record should get, where
records say so), each term (the precision of the records it counted in), and list the false
positives with their terms and the false negatives with `Matches.why_not` for every topic.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from crawler.errors import EvalFileError
from crawler.match.terms import Matcher
from crawler.store.schema import articles, reviews

__all__ = ["EvalFileError", "evaluate", "read_records", "render", "review_records"]


@dataclass(frozen=True)
class Record:
    id: str
    title: str | None
    text: str
    lang: str  # "?" when unknown
    label: bool  # on the beat (any topic)
    topics: frozenset[str] | None = None  # the topics it should get, where the file says so


@dataclass
class Score:
    """Counts of one measure; precision and recall are None where nothing is counted."""

    records: int = 0
    positives: int = 0  # on the beat
    tp: int = 0
    fp: int = 0

    def add(self, actual: bool, predicted: bool) -> None:
        self.records += 1
        self.positives += actual
        self.tp += actual and predicted
        self.fp += predicted and not actual

    @property
    def fn(self) -> int:
        return self.positives - self.tp

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.positives if self.positives else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "positives": self.positives,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
        }


@dataclass
class Evaluation:
    source: str
    overall: Score = field(default_factory=Score)
    languages: dict[str, Score] = field(default_factory=dict)
    topics: dict[str, Score] = field(default_factory=dict)  # against each record's `label`
    labelled_topics: dict[str, Score] = field(default_factory=dict)  # against `topics`
    terms: dict[str, Score] = field(default_factory=dict)  # tp/fp of the records tagged
    false_positives: list[dict[str, Any]] = field(default_factory=list)
    false_negatives: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def scores(found: dict[str, Score]) -> dict[str, Any]:
            return {name: score.as_dict() for name, score in found.items()}

        return {
            "source": self.source,
            "overall": self.overall.as_dict(),
            "languages": scores(self.languages),
            "topics": scores(self.topics),
            "labelled_topics": scores(self.labelled_topics),
            "terms": scores(self.terms),
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
        }


def evaluate(
    records: Iterable[Record], matcher: Matcher, topics: Iterable[str], source: str
) -> Evaluation:
    """Match every record and count; `topics` are the matcher's topic names, in order."""
    names = list(topics)
    result = Evaluation(source)
    result.topics = {name: Score() for name in names}
    for record in records:
        matches = matcher.match(record.title, record.text)
        tagged = bool(matches)
        result.overall.add(record.label, tagged)
        result.languages.setdefault(record.lang, Score()).add(record.label, tagged)
        for name in names:
            if name in matches:
                result.topics[name].add(record.label, True)
            if record.topics is not None:
                score = result.labelled_topics.setdefault(name, Score())
                score.add(name in record.topics, name in matches)
        for term in dict.fromkeys(t for found in matches.values() for t in found):
            result.terms.setdefault(term, Score()).add(record.label, True)
        if tagged and not record.label:
            result.false_positives.append({**_describe(record), "matches": dict(matches)})
        elif record.label and not tagged:
            why = {}
            for name in names:
                miss = matches.why_not(name)
                why[name] = miss.reasons() if miss else []
            result.false_negatives.append({**_describe(record), "why_not": why})
    result.languages = dict(
        sorted(result.languages.items(), key=lambda item: (-item[1].records, item[0]))
    )
    result.terms = dict(sorted(result.terms.items(), key=lambda item: (-item[1].fp, item[0])))
    return result


def read_records(path: str | os.PathLike[str]) -> Iterator[Record]:
    """The records of a labelled JSONL file, gzipped or not (told by its first bytes).
    Raises EvalFileError naming the file and the line of the first bad record."""
    path = Path(path)
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
    except OSError as exc:
        raise EvalFileError(f"{path}: {exc.strerror or exc}") from None
    number = 0
    try:
        with (
            gzip.open(path, "rt", encoding="utf-8")
            if gzipped
            else path.open(encoding="utf-8") as lines
        ):
            for number, line in enumerate(lines, 1):
                if line.strip():
                    yield _record(json.loads(line), number)
    except json.JSONDecodeError as exc:
        raise EvalFileError(f"{path}:{number}: not JSON ({exc.msg})") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path}:{number + 1}: unreadable ({exc})") from None
    except ValueError as exc:
        raise EvalFileError(f"{path}:{number}: {exc}") from None


def _record(data: object, number: int) -> Record:
    if not isinstance(data, dict):
        raise ValueError("a record must be a JSON object")
    for key, kinds in (
        ("title", (str, type(None))),
        ("text", (str,)),
        ("lang", (str, type(None))),
        ("label", (bool,)),
    ):
        if key not in data and key != "title":
            raise ValueError(f"field {key!r} is missing")
        if not isinstance(data.get(key), kinds):
            raise ValueError(f"field {key!r} must be {' or '.join(_kind(k) for k in kinds)}")
    topics = data.get("topics")
    if topics is not None and (
        not isinstance(topics, list) or not all(isinstance(t, str) for t in topics)
    ):
        raise ValueError("field 'topics' must be a list of topic names")
    return Record(
        id=str(data.get("id", f"line {number}")),
        title=data.get("title"),
        text=data["text"],
        lang=data["lang"] or "?",
        label=data["label"],
        topics=None if topics is None else frozenset(topics),
    )


def review_records(engine: Engine) -> Iterator[Record]:
    """Every article of the store with a relevant or irrelevant verdict, as a record."""
    query = (
        select(
            articles.c.id, articles.c.title, articles.c.text, articles.c.language, reviews.c.verdict
        )
        .join(reviews, reviews.c.article_id == articles.c.id)
        .where(reviews.c.verdict.is_not(None))
        .order_by(articles.c.id)
    )
    with engine.connect() as connection:
        for row in connection.execute(query):
            yield Record(
                id=str(row.id),
                title=row.title,
                text=row.text,
                lang=row.language or "?",
                label=row.verdict == "relevant",
            )


def render(result: Evaluation) -> str:
    """The evaluation as text, for people."""
    out = [
        f"{result.source}: {result.overall.records} records, "
        f"{result.overall.positives} on the beat",
        "",
        f"{'':<28}{'records':>8}{'beat':>6}{'TP':>6}{'FP':>6}{'FN':>6}"
        f"{'precision':>11}{'recall':>8}{'F1':>7}",
    ]
    out.append(_row("any topic", result.overall))
    for lang, score in result.languages.items():
        if score.positives or score.tp + score.fp:
            out.append(_row(f"  {lang}", score))
    quiet = [
        lang
        for lang, score in result.languages.items()
        if not (score.positives or score.tp + score.fp)
    ]
    if quiet:
        out.append(f"  (nothing on the beat or tagged in: {', '.join(quiet)})")
    if result.labelled_topics:
        out += ["", "Topics, against the topics each record should get:"]
        out += [_row(f"  {name}", score) for name, score in result.labelled_topics.items()]
    out += ["", "Topics, precision of what each tags (against the beat label):"]
    out += [_tagged(f"  {name}", score) for name, score in result.topics.items()]
    out += ["", "Terms, precision of the records each counted in (false positives first):"]
    out += [_tagged(f"  {term}", score) for term, score in result.terms.items()]
    out += ["", f"False positives ({len(result.false_positives)}):"]
    for record in result.false_positives:
        out.append(_head(record))
        out += [f"      {topic}: {', '.join(terms)}" for topic, terms in record["matches"].items()]
    out += ["", f"False negatives ({len(result.false_negatives)}):"]
    for record in result.false_negatives:
        out.append(_head(record))
        for topic, reasons in record["why_not"].items():
            out.append(f"      {topic}: {'; '.join(reasons)}")
    return "\n".join(out)


def _describe(record: Record) -> dict[str, Any]:
    return {
        "id": record.id,
        "lang": record.lang,
        "title": record.title,
        "lead": " ".join(record.text.split()[:30]),
    }


def _head(record: dict[str, Any]) -> str:
    title = " ".join((record["title"] or record["lead"]).split())
    return f"  {record['id']} [{record['lang']}] {title[:100]}"


def _row(name: str, score: Score) -> str:
    return (
        f"{name[:27]:<28}{score.records:>8}{score.positives:>6}{score.tp:>6}{score.fp:>6}"
        f"{score.fn:>6}{_number(score.precision):>11}{_number(score.recall):>8}"
        f"{_number(score.f1):>7}"
    )


def _tagged(name: str, score: Score) -> str:
    return (
        f"{name[:40]:<42} tagged {score.tp + score.fp:>5}, relevant {score.tp:>5}, "
        f"precision {_number(score.precision)}"
    )


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _kind(kind: type) -> str:
    return {str: "a string", bool: "true or false", type(None): "null"}[kind]
