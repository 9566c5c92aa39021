"""extract_article against the shared corpus of real pages, compared with plain trafilatura.

Every page is decoded the way the crawl will see it (Scrapy's own encoding detection on the
raw body) and extracted once; the reference is `trafilatura.extract` with its defaults on
the raw bytes. Our settings must do at least as well on both kinds of ground truth:
annotated full bodies (mean token F1) and must/must-not snippets. And a page whose feed
entry gave its title, author and date (`entry_metadata`: the page's own metadata is not read
then) must give the same text.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import trafilatura
from scrapy.http import HtmlResponse

from crawler.extract.page import Byline, Extracted, extract_article, read_page
from tests.conftest import CORPUS

pytestmark = pytest.mark.slow  # the whole corpus

MANIFEST = CORPUS / "articles" / "manifest.jsonl"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class PageResult:
    row: dict[str, Any]
    html: str
    ours: Extracted | None
    reference: str | None

    @property
    def text(self) -> str | None:
        return self.ours.text if self.ours is not None else None


@pytest.fixture(scope="module")
def results() -> list[PageResult]:
    # A missing corpus must fail, not skip: these numbers are what justifies our settings.
    assert MANIFEST.is_file(), f"test corpus not found: {MANIFEST} (expected ../shared/corpus)"
    rows = [json.loads(line) for line in MANIFEST.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) >= 500, f"{MANIFEST}: only {len(rows)} pages"
    started = time.perf_counter()
    out = []
    for row in rows:
        with gzip.open(MANIFEST.parent / row["file"]) as f:
            raw = f.read()
        html = HtmlResponse(url=row["url"], body=raw).text
        extracted = extract_article(html, row["url"])
        out.append(
            PageResult(
                row=row,
                html=html,
                ours=extracted,
                reference=trafilatura.extract(raw),
            )
        )
    # Printed on failure; the budget is about 90 s for the whole module on 2 cores.
    print(f"corpus: {len(rows)} pages extracted twice in {time.perf_counter() - started:.1f} s")
    return out


def tokens(text: str | None) -> Counter[str]:
    return Counter(token.casefold() for token in _WORD.findall(text or ""))


def token_f1(predicted: str | None, expected: str) -> float:
    got, want = tokens(predicted), tokens(expected)
    overlap = sum((got & want).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def report(capsys: pytest.CaptureFixture[str], message: str) -> None:
    # Shown with or without -s: these scores are the point of the test.
    with capsys.disabled():
        print(f"\n{message}")


def test_full_body_f1_not_below_plain_trafilatura(
    results: list[PageResult], capsys: pytest.CaptureFixture[str]
) -> None:
    pages = [r for r in results if r.row["ground_truth"] == "full_body"]
    assert len(pages) == 404
    ours = [token_f1(r.text, r.row["body"]) for r in pages]
    reference = [token_f1(r.reference, r.row["body"]) for r in pages]
    by_dataset: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for page, o, ref in zip(pages, ours, reference, strict=True):
        by_dataset[page.row["source_dataset"]].append((o, ref))
    lines = [
        f"full_body mean token F1 over {len(pages)} pages: ours {statistics.fmean(ours):.4f}, "
        f"plain trafilatura {statistics.fmean(reference):.4f}; "
        f"no text: ours {sum(r.text is None for r in pages)}, "
        f"reference {sum(r.reference is None for r in pages)}",
        *(
            f"  {name} ({len(pairs)}): ours {statistics.fmean(o for o, _ in pairs):.4f}, "
            f"reference {statistics.fmean(ref for _, ref in pairs):.4f}"
            for name, pairs in sorted(by_dataset.items())
        ),
    ]
    summary = "\n".join(lines)
    report(capsys, summary)
    assert statistics.fmean(ours) >= statistics.fmean(reference), summary


def snippet_scores(texts: list[str | None], rows: list[dict[str, Any]]) -> tuple[float, float]:
    """Fractions of expected_with strings found and of expected_without strings absent."""
    found = absent = with_total = without_total = 0
    for text, row in zip(texts, rows, strict=True):
        text = text or ""
        found += sum(snippet in text for snippet in row["expected_with"])
        absent += sum(snippet not in text for snippet in row["expected_without"])
        with_total += len(row["expected_with"])
        without_total += len(row["expected_without"])
    return found / with_total, absent / without_total


def test_snippets_not_worse_than_plain_trafilatura(
    results: list[PageResult], capsys: pytest.CaptureFixture[str]
) -> None:
    pages = [r for r in results if r.row["ground_truth"] == "snippets"]
    assert len(pages) == 101
    rows = [r.row for r in pages]
    ours_with, ours_without = snippet_scores([r.text for r in pages], rows)
    ref_with, ref_without = snippet_scores([r.reference for r in pages], rows)
    summary = (
        f"snippets over {len(pages)} pages: expected_with found: ours {ours_with:.4f}, "
        f"plain trafilatura {ref_with:.4f}; expected_without absent: ours {ours_without:.4f}, "
        f"plain trafilatura {ref_without:.4f}"
    )
    report(capsys, summary)
    assert ours_with >= ref_with, summary
    assert ours_without >= ref_without, summary


def test_the_entry_metadata_leaves_the_text_as_it_is(results: list[PageResult]) -> None:
    """Every fourth page, as if its feed entry had given the page's own title, an author and
    a date: the text extracted without reading the page's metadata is the same text."""
    published = datetime(2024, 1, 2, tzinfo=UTC)
    pages = [r for r in results[::4] if r.ours is not None]
    assert len(pages) > 100
    for page in pages:
        byline = Byline(page.ours.title or "Untitled", "Staff")
        extracted = read_page(page.html, page.row["url"], published, byline=byline)
        assert extracted is not None, page.row["url"]
        assert extracted.text == page.ours.text, page.row["url"]
        assert (extracted.author, extracted.published) == ("Staff", published)
