"""One folding rule for tagging, fingerprints, near-duplicates and stories (`crawler.text.folding`);
the stored keys (fingerprints, near-duplicate signatures) unchanged by it."""

from __future__ import annotations

import hashlib
import json

import pytest

from crawler.match.fingerprints import fingerprint
from crawler.match.near_duplicates import signature, words
from crawler.match.stories import story_terms
from crawler.match.terms import Matcher, TopicRule
from crawler.text.folding import fold, fold_decomposed, strip_every_mark
from tests.conftest import CORPUS

# (fingerprint, sha256 of the near-duplicate signature) of the corpus article's title and
# body, as the rules before `crawler.text.folding` computed and stored them.
STORED = {
    "aeb-0ec95c7261d122f3": (  # Korean: Hangul decomposed in fingerprints, whole in signatures
        "989a0912b380524ef01f10fe29dda26b14f539361f16895695c7ad1bf54dd0bf",
        "38342c7bd928608da1e14117dc89f984c38005a16d4b64c80dd960a846eb1809",
    ),
    "fundus-fr-euronewsfr-2024-04-30": (
        "c9d51f541d7d67db186de2b5afca9042c9c5bb8aea24cea8b8468c1352f66eff",
        "f32ee4d4bd6a74e4fdcada0b6590b94bb7dc672d3ef426a2bc0c3df704b8cf9b",
    ),
    "aeb-f81c6c05d9cbc933": (  # German
        "285fb9e95a3c3d464a75cd5dcb34fc6a9ad1e02be155fa6ad09ec641128c8e4c",
        "d556ddfd60722c21337ed924d7b81d93e4f63f3fcbe6f4e1a2ad7bea0b80a58c",
    ),
    "fundus-ind-bhaskar-2024-09-04": (  # Hindi: vowel signs kept in both
        "adb8173bf0c32c6f53d411ab78b9944cdc3cabbe618b897d30d5f01803ec27e3",
        "a3ef939836bacd8428046b89456a3727fbd2ebe51cc84125b92085099fd10da7",
    ),
    "fundus-vn-vnexpress-2025-10-22": (  # Vietnamese: stacked accents
        "60d040ccf60efd0d26da9a2b0ae641c1608250b40124fcee762c232b4cd24b3b",
        "bdb380786d62905d755af59ab6432bbbec7658f40e512077d825fd0bfd9e2e40",
    ),
}


def corpus_text(article_id: str) -> str:
    manifest = (CORPUS / "articles" / "manifest.jsonl").read_text(encoding="utf-8")
    for record in map(json.loads, manifest.splitlines()):
        if record["id"] == article_id:
            return (record["title"] or "") + "\n" + record["body"]
    raise AssertionError(f"{article_id} is not in the corpus")


@pytest.mark.parametrize("article_id", sorted(STORED))
def test_stored_keys_are_unchanged(article_id: str) -> None:
    """A copy of an article stored by an earlier version is still recognised."""
    text = corpus_text(article_id)
    assert (fingerprint(text), hashlib.sha256(signature(text)).hexdigest()) == STORED[article_id]


def test_the_rule() -> None:
    assert fold("Ｆｕｌｌ-Text: l'IA, Sécurité NATIONALE, Straße, ﬁn") == (
        "full-text: l'ia, securite nationale, strasse, fin"
    )
    assert fold("𝐍𝐀𝐓𝐎 ΚΑΛΗΜΈΡΑ ᾳ") == "nato καλημερα αι"  # compatibility forms, then case
    assert fold("한국어") == "한국어" and fold_decomposed("한국어") != "한국어"  # jamo, stored
    assert fold("e\u0301te\u0301 \U0001e944") == "ete "  # marks beyond the BMP go too
    assert strip_every_mark("Sécurité AI हिन्दी") == "Securite AI हनद"  # case kept


def test_every_stage_folds_alike() -> None:
    """A headline in mathematical bold (social-media copy) and with accents and capitals is
    the same words for near-duplicates, stories, fingerprints and tagging."""
    fancy, plain = "𝐍𝐀𝐓𝐎 approuve la SÉCURITÉ nationale", "nato approuve la securite nationale"
    assert words(fancy) == words(plain)
    assert (
        story_terms(fancy, "")[1]
        == story_terms(plain, "")[1]
        == {"nato", "approuve", "securite", "nationale"}
    )
    assert fingerprint(fancy) == fingerprint(plain)
    matcher = Matcher([TopicRule("t", any=("sécurité nationale",))])
    assert (
        dict(matcher.match(fancy, ""))
        == dict(matcher.match(plain, ""))
        == {"t": ["sécurité nationale"]}
    )


def test_korean_story_terms_are_whole_syllables() -> None:
    """Stories fold as near-duplicates do: composed Korean words, not loose jamo."""
    terms, title_terms = story_terms("한국은행 기준금리 동결", "")
    assert "한국은행" in title_terms and "기준금리" in title_terms


def test_short_texts_fold_as_long_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """A short text folded before any long one drops its marks one by one, without the class
    of marks (`folding.SHORT`); it folds exactly as through the class."""
    import random
    import unicodedata

    from crawler.text import folding

    pick = random.Random(15)
    letters = [
        *map(chr, range(0x41, 0x7B)),  # ASCII
        *map(chr, range(0x300, 0x370)),  # combining accents
        *map(chr, range(0x900, 0x980)),  # Devanagari: vowel signs of class 0
        *"éüßﬁＦ\u1100\u1161\uac00",  # precomposed, ligature, full width, Hangul
        *"\U0001d165\U0001d166\U0001f600\U00011127\U0001e944",  # marks and more beyond the BMP
    ]
    texts = ["".join(pick.choices(letters, k=pick.randint(1, 150))) for _ in range(2000)]
    monkeypatch.setattr(folding, "_classes", {})  # as in a new process: no class built yet
    for marks in (folding._is_mark, unicodedata.combining):
        decomposed = [unicodedata.normalize("NFKD", text) for text in texts]
        class_of = folding._class_of(marks)
        for text in decomposed:
            assert len(text) <= folding.SHORT
            by_class = "".join(
                char for char in class_of.sub("", text) if not (ord(char) > 0xFFFF and marks(char))
            )
            assert folding._drop(text, marks) == by_class, text
        assert marks not in folding._classes  # every text took the short way
