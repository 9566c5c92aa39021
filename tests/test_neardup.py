"""Near-duplicate signatures and index (crawler/match/near_duplicates.py): copies found, distinct
stories kept
apart, short texts harmless, signatures stable across processes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crawler.match import near_duplicates as neardup
from crawler.match.near_duplicates import NearDuplicateIndex, signature, words

ARTICLE = """\
The Pentagon has agreed to test an artificial intelligence system that sorts drone footage for \
analysts, officials said on Tuesday, the first contract of its kind signed by the new office.

The system, built by a small company in Virginia, flags vehicles and buildings in hours of video \
that human analysts would otherwise review frame by frame, according to two people briefed on it.

Officials said the software would not choose targets and that every flagged image would be \
checked by a trained analyst before it reached a commander, a rule set by the department last year.

Critics in Congress asked how the contract was awarded and whether the company had been vetted, \
noting that the office was created only eight months ago and has a budget of nearly 900 million.

The department said the test would run for six months at two bases in Nevada and Florida, after \
which an independent panel would report on its accuracy, its errors and the time it saved.

A spokesman declined to name the bases or the units involved, citing operational security, but \
said the results would be shared with the committees that oversee military technology programs.

Allies in Europe have followed the project closely, and at least two of them are weighing similar \
tools for their own surveillance flights over the eastern flank of the alliance this winter.
"""

SAME_TOPIC = """\
The army will spend 40 million on software that uses artificial intelligence to predict when its \
helicopters need repairs, a procurement notice published on Monday shows, part of a wider push.

The program collects sensor readings from engines and rotors and compares them with years of \
maintenance records, so that mechanics can replace parts before they fail during a mission.

Officials said the software would not replace human inspections and that every warning would be \
reviewed by a certified mechanic, a condition added after a test at a base in Texas last spring.

Lawmakers welcomed the plan but asked the army to publish how often the system raised false \
alarms, after an earlier pilot grounded several aircraft for problems that did not exist.

The contract runs for three years and covers two helicopter fleets, with an option to extend it \
to transport aircraft if the first results meet the targets set by the program office.
"""

HEADER = [
    "Advertisement",
    "Share this article",
    "By Jane Doe, Defense Correspondent",
]
FOOTER = [
    "Sign up for our daily newsletter to get the latest defense news delivered straight to your "
    "inbox every morning, and unsubscribe at any time.",
    "Copyright 2025 Example Media Group. All rights reserved. This material may not be published, "
    "broadcast, rewritten or redistributed without written permission from the publisher.",
    "Have a news tip? Contact our newsroom by email or call our tip line at any time of the day.",
]
OTHER_HEADER = ["Skip to main content", "Listen to this article", "Published 10:42 AM"]
OTHER_FOOTER = [
    "Follow us on Twitter, Facebook and Instagram for the latest updates from our newsroom.",
    "This article originally appeared on Example Wire and is republished with permission.",
]


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def wrap(text: str, header: list[str], footer: list[str]) -> str:
    return "\n\n".join([*header, text, *footer])


def index_of(*texts: str) -> NearDuplicateIndex:
    index = NearDuplicateIndex()
    for key, text in enumerate(texts, start=1):
        index.add(key, signature(text))
    return index


def found(stored: str, copy: str) -> bool:
    return index_of(stored).find(signature(copy)) == 1


# --- copies are found ------------------------------------------------------------------------


def test_verbatim_copy() -> None:
    assert found(ARTICLE, ARTICLE)


def test_copy_with_another_headline() -> None:
    stored = "Pentagon tests AI that sorts drone video\n\n" + ARTICLE
    copy = "US military signs first deal for artificial intelligence analyst\n\n" + ARTICLE
    assert found(stored, copy)


def test_copy_with_a_dateline() -> None:
    assert found(ARTICLE, "WASHINGTON (Reuters) - " + ARTICLE)
    assert found("PARIS (AFP) - " + ARTICLE, "WASHINGTON, Nov 19 (Reuters) — " + ARTICLE)


def test_copy_with_other_boilerplate() -> None:
    assert found(wrap(ARTICLE, HEADER, FOOTER), wrap(ARTICLE, OTHER_HEADER, OTHER_FOOTER))
    assert found(ARTICLE, wrap(ARTICLE, HEADER, FOOTER))


def test_copy_with_a_few_words_changed() -> None:
    edited = (
        ARTICLE.replace("Tuesday", "Wednesday")
        .replace("small company", "young firm")
        .replace("six months", "half a year")
        .replace("Nevada", "Arizona")
    )
    assert found(ARTICLE, edited)


def test_truncated_teaser_either_way() -> None:
    teaser = "\n\n".join(paragraphs(ARTICLE)[:3])  # the first 40% of the paragraphs
    assert found(ARTICLE, teaser)
    assert found(teaser, ARTICLE)  # the teaser was stored first
    with_headline = "Pentagon tests drone AI\n\n" + teaser + "\n\nRead the full story."
    assert found(ARTICLE, with_headline)


def test_syndicated_copy_with_everything_changed() -> None:
    stored = wrap("Pentagon tests AI that sorts drone video\n\n" + ARTICLE, HEADER, FOOTER)
    copy = "WASHINGTON (AP) — " + ARTICLE.replace("Tuesday", "Wednesday")
    copy = wrap("First AI analyst contract signed\n\n" + copy, OTHER_HEADER, OTHER_FOOTER)
    assert found(stored, copy)


def test_best_match_is_the_most_similar_then_the_first_stored() -> None:
    teaser = "\n\n".join(paragraphs(ARTICLE)[:3])
    index = NearDuplicateIndex()
    index.add(7, signature(teaser))
    index.add(9, signature(ARTICLE))
    index.add(4, signature(ARTICLE))
    assert index.find(signature("WASHINGTON (Reuters) - " + ARTICLE)) == 4
    assert index.find(signature(teaser)) == 7


# --- distinct stories are not ----------------------------------------------------------------


def test_different_article_same_site_same_topic() -> None:
    assert not found(ARTICLE, SAME_TOPIC)
    assert not found(wrap(ARTICLE, HEADER, FOOTER), wrap(SAME_TOPIC, HEADER, FOOTER))


def test_different_short_articles_sharing_a_long_footer() -> None:
    first = "\n\n".join(paragraphs(ARTICLE)[:2])
    second = "\n\n".join(paragraphs(SAME_TOPIC)[:2])
    # About half of each text is the same boilerplate (its short lines are left out).
    assert not found(wrap(first, HEADER, FOOTER), wrap(second, HEADER, FOOTER))


def test_same_byline_and_same_first_line() -> None:
    byline = "By Jane Doe, Associated Press, with reporting from the Pentagon in Washington"
    assert not found(byline + "\n\n" + ARTICLE, byline + "\n\n" + SAME_TOPIC)


def test_distinct_corpus_articles_never_match() -> None:
    """Real articles in many languages, looked up before being stored, as the store does."""
    manifest = Path(__file__).resolve().parents[2] / "shared/corpus/articles/manifest.jsonl"
    assert manifest.exists(), f"the shared corpus is missing: expected {manifest}"
    index = NearDuplicateIndex()
    urls: dict[str, int] = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["ground_truth"] != "full_body":
            continue
        sig = signature(entry["body"])
        match = index.find(sig)
        # The corpus holds one article twice under one URL, the second time updated.
        assert match == urls.get(entry["url"]), entry["id"]
        urls.setdefault(entry["url"], len(urls))
        if match is None:
            index.add(urls[entry["url"]], sig)
    assert len(index) > 400


# --- short texts, signatures, the index ------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\n ", "—", "Reuters", "Pentagon AI", "Advertisement"])
def test_empty_and_short_texts_do_not_match_everything(text: str) -> None:
    index = index_of(ARTICLE, SAME_TOPIC, text)
    assert index.find(signature(text)) in (None, 3)
    assert index_of(ARTICLE, SAME_TOPIC).find(signature(text)) is None
    assert index_of(text).find(signature(ARTICLE)) is None


def test_empty_texts_do_not_match_each_other() -> None:
    assert index_of("").find(signature("")) is None
    assert index_of("...").find(signature("!!!")) is None


def test_signature_round_trip() -> None:
    sig = signature(ARTICLE)
    assert isinstance(sig, bytes)
    assert len(sig) == 14 + 8 * neardup.NUM_PERM
    stored = bytes(memoryview(bytearray(sig)))  # as read back from a database column
    index = NearDuplicateIndex()
    index.extend([(1, stored), (2, signature(SAME_TOPIC))])
    assert len(index) == 2
    assert index.find(sig) == 1
    assert signature(ARTICLE, num_perm=64) != sig
    with pytest.raises(ValueError, match="num_perm=128"):
        index.find(signature(ARTICLE, num_perm=64))
    with pytest.raises(ValueError, match="not made with"):
        index.add(3, sig[:-1])
    with pytest.raises(ValueError, match="shingle=3"):
        index.extend([(4, sig), (5, signature(ARTICLE, shingle=4))])
    assert len(index) == 2  # nothing of a refused batch is kept
    index.add(4, sig)


def test_signature_is_the_same_in_every_process() -> None:
    code = (
        "import sys; from crawler.match.near_duplicates import signature; "
        "sys.stdout.write(signature(sys.stdin.read()).hex())"
    )
    for seed in ("0", "1234"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            input=ARTICLE,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        assert result.stdout == signature(ARTICLE).hex()


def test_signatures_are_the_ones_already_stored() -> None:
    """The store keeps signatures and the index is rebuilt from them: a change in what a text
    signs to would hide every stored original. These digests are of signatures made with
    datasketch 2.0's MinHash (affine32 scheme, seed 1), which this module's numpy code
    replaces."""
    texts = [ARTICLE, SAME_TOPIC, "", "...", "Breaking news", "東京で新しい駅が開業した。" * 30]
    signatures = [signature(text) for text in [*texts, ARTICLE.upper()]] + [
        signature(ARTICLE, num_perm=64),
        signature(ARTICLE, shingle=1),
        signature(ARTICLE, lead_words=10),
        signature(ARTICLE, num_perm=512, shingle=5),
    ]
    digest = hashlib.sha256(b"".join(signatures)).hexdigest()
    assert digest == "5e7bc601f2ff22370e4caf9eacb908d92d72e0aae479f0eba7cad0ce6731225d"
    assert signature("Breaking news")[14:30].hex() == "25947f217e28239bdc8efaea5d13b274"
    manifest = Path(__file__).resolve().parents[2] / "shared/corpus/articles/manifest.jsonl"
    entries = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    bodies = [entry["body"] for entry in entries if entry["body"]]
    digest = hashlib.sha256(b"".join(signature(body) for body in bodies)).hexdigest()
    assert (len(bodies), digest) == (
        404,
        "66614d0279cc0cd0ed049ffd60de530fd3414038d6829dc007ffac3b446f215b",
    )


def test_the_minhash_is_datasketchs() -> None:
    """datasketch 2.0's MinHash (affine32, seed 1) of the same shingle hashes, as the module
    computed signatures with before it replaced datasketch's two calls with numpy."""
    from datasketch import MinHash

    rng = np.random.default_rng(11)
    for count in (1, 2, 7, 500, 5000):
        hashes = np.unique(rng.integers(0, 2**32, count, dtype=np.uint32))
        for num_perm in (16, 128, 512):
            reference = MinHash(num_perm=num_perm, seed=1, hashfunc=int, scheme="affine32")
            reference.update_batch(hashes.tolist())
            ours = neardup._minhash_of(hashes, num_perm)
            assert ours.dtype == reference.hashvalues.dtype
            assert np.array_equal(ours, reference.hashvalues), (count, num_perm)
    empty = MinHash(num_perm=128, seed=1, scheme="affine32").hashvalues
    assert np.array_equal(neardup._minhash_of(np.empty(0, np.uint32), 128), empty)


def test_each_key_once() -> None:
    index = index_of(ARTICLE)
    with pytest.raises(ValueError, match="already"):
        index.add(1, signature(SAME_TOPIC))
    with pytest.raises(ValueError, match="already"):
        index.extend([(5, signature(ARTICLE)), (5, signature(SAME_TOPIC))])


def test_added_one_by_one_or_in_bulk_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """Additions wait in a dict, merged into the sorted arrays every PENDING additions."""
    monkeypatch.setattr(neardup, "PENDING", 3)
    texts = [
        " ".join(f"{word}{i}" for word in ARTICLE.split()) if i % 2 else ARTICLE for i in range(10)
    ]
    one_by_one, bulk = NearDuplicateIndex(), NearDuplicateIndex()
    bulk.extend((key, signature(text)) for key, text in enumerate(texts))
    for key, text in enumerate(texts):
        expected = 0 if key % 2 == 0 and key > 0 else None
        assert one_by_one.find(signature(text)) == expected
        one_by_one.add(key, signature(text))
        assert one_by_one.find(signature(text)) == (key if key % 2 else 0)
    for text in texts:
        assert bulk.find(signature(text)) == one_by_one.find(signature(text))


def test_a_story_stored_many_times_finds_its_first_copy() -> None:
    """Its buckets overflow their directory slots and are capped at BUCKET_CAP rows."""
    sig = signature(ARTICLE)
    index = NearDuplicateIndex()
    index.extend((key, sig) for key in range(10, 310))
    index.extend((key, signature(f"{SAME_TOPIC} {key}")) for key in range(310, 330))
    index.add(5, sig)
    assert index.find(signature("BERLIN (dpa) - " + ARTICLE)) == 5
    assert index.find(signature(SAME_TOPIC)) in range(310, 330)


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError, match="threshold"):
        NearDuplicateIndex(threshold=0)
    with pytest.raises(ValueError, match="num_perm"):
        NearDuplicateIndex(num_perm=8)
    with pytest.raises(ValueError, match="shingle"):
        signature(ARTICLE, shingle=0)


def test_words_are_folded() -> None:
    assert words("Ｆｕｌｌ-Text: l'IA, Sécurité NATIONALE, Straße") == [
        "full",
        "text",
        "l",
        "ia",
        "securite",
        "nationale",
        "strasse",
    ]
    assert words("東京都の地震") == ["東", "京", "都", "の", "地", "震"]
    assert words("한국어 기사") == ["한국어", "기사"]


def test_a_discarded_original_is_no_longer_found() -> None:
    """An earlier-published copy took its place: the index keeps originals only."""
    index = index_of(ARTICLE, SAME_TOPIC)
    index.discard(1)
    assert len(index) == 1
    assert index.find(signature(ARTICLE)) is None
    index.add(3, signature("WASHINGTON (Reuters) - " + ARTICLE))
    assert index.find(signature(ARTICLE)) == 3
    assert index.find(signature(SAME_TOPIC)) == 2
    index.discard(99)  # never indexed: nothing to do
    assert len(index) == 2
