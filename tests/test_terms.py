"""Tests for crawler.match.terms: a table of cases for every matching rule, in English, French,
German.

Two tables: one term against one text (case, accents, whole words, wildcards, phrases), then
whole rules against a title and a text (segments, `none`, `all`, `near`, reporting).
"""

from __future__ import annotations

import re

import pytest

from crawler.match.terms import Matcher, TermError, TopicRule, check_term, term_spans

# (term, text, whether the term matches the text)
TERM_CASES = [
    # Case- and accent-insensitive.
    ("national security", "National Security Council", True),
    ("securite nationale", "la sécurité nationale", True),
    ("securite nationale", "Sécurité Nationale", True),
    ("sécurité nationale", "SECURITE NATIONALE", True),
    ("défense", "la defence", False),
    ("Militär", "das MILITAR", True),
    ("Streitkrafte", "die Streitkräfte", True),
    ("Straße", "STRASSE", True),  # casefolding: ß is ss
    ("café", "un cafe\u0301", True),  # decomposed text
    ("cafe\u0301", "Café noir", True),  # decomposed term
    # A word written in capitals is case-sensitive, still accent-insensitive.
    ("AI", "The AI boom", True),
    ("AI", "ai", False),
    ("AI", "Ai Weiwei", False),
    ("ai", "The AI boom", True),  # a term in lowercase matches any case
    ("IA", "ia", False),
    ("KI", "Ki", False),
    ("NATO", "Nato allies", False),
    ("NATO", "NATO allies", True),
    ("ETATS", "ÉTATS-UNIS", True),
    ("ÉTATS", "ETATS-UNIS", True),
    ("ÉTATS", "États-Unis", False),
    ("NATO summit", "the NATO Summit", True),  # case is decided word by word
    ("NATO summit", "the Nato summit", False),
    # Whole words; hyphens and apostrophes separate words.
    ("AI", "He said", False),
    ("AI", "Taiwan", False),
    ("AI", "AIs and AIDS", False),
    ("AI", "AI-powered drones", True),
    ("AI", "(AI).", True),
    ("IA", "la SIAé", False),
    ("IA", "l'IA générative", True),
    ("IA", "l’IA générative", True),
    ("l'IA", "l’IA générative", True),
    ("KI", "KIELER Woche", False),
    ("KI", "die KI-Strategie", True),
    ("हिन्दी", "हिन्दी में", True),  # vowel signs are marks: dropped, they split no word
    # A `*` ends a word with any continuation, or none.
    ("militar*", "US military", True),
    ("militar*", "militärisch", True),
    ("militar*", "das Militär", True),
    ("militar*", "militar", True),
    ("militar*", "usage militaire", False),  # m-i-l-i-t-a-i-r-e does not start with "militar"
    ("militaire*", "les militaires", True),
    ("militar*", "paramilitary", False),
    ("militar*", "milit", False),
    ("armée*", "les armées", True),
    ("künstlich* Intelligenz", "Künstlicher Intelligenz", True),
    ("künstlich* Intelligenz", "KÜNSTLICHE INTELLIGENZ", True),
    ("künstlich* Intelligenz", "künstliche Dummheit", False),
    ("arm* forces", "the armed forces", True),
    ("LLM*", "open LLMs", True),
    ("LLM*", "open llms", False),
    # Phrases: consecutive words, whatever whitespace or punctuation lies between them.
    ("artificial intelligence", "artificial\nintelligence", True),
    ("artificial intelligence", "artificial \t\u00a0 intelligence", True),
    ("artificial intelligence", "artificial. Intelligence", True),
    ("artificial intelligence", "artificial general intelligence", False),
    ("artificial intelligence", "intelligence artificial", False),
    ("artificial intelligence", "artificial", False),
    ("intelligence artificielle", "l'intelligence\n\nartificielle", True),
    ("künstliche Intelligenz", "künstliche\r\nIntelligenz", True),
    # Capitals after a letter that casefolding makes longer ("ß" is "ss"), so that offsets in
    # the folded text and in the text as written differ.
    ("KI", "Die Straße der KI-Strategie", True),
    ("KI", "Die Straße der Ki-Strategie", False),
    ("NATO gipfel", "Großer NATO-Gipfel", True),
    ("NATO GIPFEL", "Großer NATO-Gipfel", False),
    ("NAT*", "Fußball und NATO", True),
    ("NAT*", "Fußball und Natur", False),
    ("gipfel NATO", "Großer Gipfel Nato", False),
    # One-letter first words in capitals.
    ("A.I.", "über A.I. heute", True),
    ("A.I.", "über a.i. heute", False),
    ("A.I.", "DATA.IN", False),
    ("U.S. army", "the U.S. Army", True),
    ("U.S. army", "tell us. Army", False),
    # Scripts written without spaces: a term matches as a substring, its words one after the
    # other with or without anything between them.
    ("人工智能", "美国国防部周二表示，正在测试搭载人工智能的无人机。", True),
    ("人工智能", "他们讨论了人工智慧的未来。", False),
    ("人工智能", "人工 智能", False),  # a space where the term has none
    ("軍事利用", "防衛省は人工知能の軍事利用に関する基本方針を公表した。", True),
    ("ロシア・ウクライナ", "ロシアウクライナ戦争の長期化", True),
    ("ロシア・ウクライナ", "ロシア・ウクライナ戦争", True),
    ("ガザ", "ｶﾞｻﾞ地区で停戦協議", True),  # half-width katakana
    ("ปัญญาประดิษฐ์", "กองทัพไทยเริ่มนำปัญญาประดิษฐ์มาใช้ในการป้องกันประเทศ", True),
    ("ปัญญาประดิษฐ์", "กองทัพไทยเริ่มนำอาวุธใหม่มาใช้", False),
    ("AI兵器", "各国がAI兵器の開発を急いでいる", True),
    ("AI兵器", "各国がai兵器の開発を急いでいる", False),  # capitals still count
    ("無人機*", "中国の無人機部隊", True),
    # A term marked `=`: accents count (case is still folded, capitals still count).
    ("=defense", "missile defense", True),
    ("=defense", "Defense Department", True),
    ("=defense", "la défense antimissile", False),
    ("defense", "la défense antimissile", True),  # unmarked: accents folded, as before
    ("=défense", "la DÉFENSE", True),
    ("=défense", "la defense", False),
    ("=défense", "la de\u0301fense", True),  # decomposed text
    ("=armée*", "les armées", True),
    ("=armée*", "les armees", False),
    ("=Waffe", "die Waffe", True),
    ("=ministère des Armées", "le ministère des armées", True),
    ("=ministère des Armées", "le ministere des armées", False),
    ("=IA", "l'IA", True),
    ("=IA", "l'ia", False),
    ("=KI", "Straße der KI", True),  # offsets after "ß"
    ("=Straße", "STRASSE", True),
    ("=Straße", "die Straße", True),
]


@pytest.mark.parametrize(("term", "text", "matches"), TERM_CASES)
def test_term(term: str, text: str, matches: bool) -> None:
    result = Matcher([TopicRule("t", any=(term,))]).match(None, text)
    assert result == ({"t": [term]} if matches else {})
    assert bool(term_spans(text, [term])) == matches  # highlighting agrees


def fill(n: int) -> str:
    """`n` words that match nothing, to push matches apart."""
    return " ".join(["lorem"] * n)


AI = ("AI", "artificial intelligence")
MILITARY_AI = TopicRule("t", all=(AI, ("military", "defence")))
MILITARY_AI_NEAR = TopicRule("t", all=(AI, ("military", "defence")), near=15)
META = TopicRule(
    "t",
    all=(
        ("IA", "intelligence artificielle"),
        ("usage militaire", "sécurité nationale", "militaire*"),
    ),
    near=15,
)
KI_NEAR = TopicRule(
    "t", all=(("KI", "künstlich* Intelligenz"), ("Bundeswehr", "Verteidigung*")), near=15
)
NO_LEAD = TopicRule("t", all=(AI, ("military", "defence")), near=15, lead=0)
LEAD_10 = TopicRule("t", all=(AI, ("military", "defence")), near=15, lead=10)
CYBER = TopicRule(
    "t",
    all=(("AI", "KI", "IA"), ("=defense", "military", "weapon*", "Verteidigung*", "Cyber*")),
    near=15,
    exceptions=("cyber defense", "weapon of choice", "Cyberverteidigung", "défense antivirus"),
    none=("NFL",),
)
ROBOTS = TopicRule("t", any=("killer robot*",), all=(("AI",), ("weapon*",)), near=5)
META_TITLE = "Meta ouvre l'accès de ses IA open source aux États-Unis pour un usage militaire"
META_TEXT = "Les modèles Llama pourront servir aux agences chargées de la sécurité nationale."

# (id, rule, title, text, terms reported for topic "t", or None when it must not apply)
RULE_CASES = [
    # Title and text are separate segments.
    ("en-phrase-not-across", TopicRule("t", any=AI), "Why artificial", "intelligence", None),
    ("en-title-only", TopicRule("t", any=AI), "AI", None, ["AI"]),
    ("fr-title-empty-text", TopicRule("t", any=("IA",)), "L'IA", "", ["IA"]),
    ("en-all-across", MILITARY_AI, "Why AI", "defence matters", ["AI", "defence"]),
    ("en-near-not-across", NO_LEAD, "Why AI", "defence matters", None),
    # The title and the first `lead` words of the text make a window too.
    (
        "en-lead",
        MILITARY_AI_NEAR,
        "Army picks vendors",
        f"{fill(20)} AI defence",
        ["AI", "defence"],
    ),
    (
        "en-title-lead",
        MILITARY_AI_NEAR,
        "AI for the Navy",
        f"{fill(38)} the defence",
        ["AI", "defence"],
    ),
    ("en-title-beyond-lead", MILITARY_AI_NEAR, "AI for the Navy", f"{fill(39)} the defence", None),
    ("en-title-lead-10", LEAD_10, "AI for the Navy", f"{fill(8)} the defence", ["AI", "defence"]),
    ("en-title-beyond-lead-10", LEAD_10, "AI for the Navy", f"{fill(9)} the defence", None),
    ("en-title-lead-off", NO_LEAD, "AI for the Navy", "the defence", None),
    # The title must hold a group: the lead alone has no wider window than `near`.
    ("en-lead-needs-title", MILITARY_AI_NEAR, "Navy news", f"AI {fill(20)} defence", None),
    (
        "en-title-lead-terms",
        MILITARY_AI_NEAR,
        "Artificial intelligence at war",
        f"AI {fill(10)} defence {fill(40)} military",
        ["AI", "artificial intelligence", "defence"],
    ),
    (
        "fr-title-lead",
        META,
        "L'armée mise sur l'IA",
        f"{fill(30)} des militaires",
        ["IA", "militaire*"],
    ),
    # `except`: a match inside an exception does not count; the other matches still do.
    ("en-except", CYBER, None, "AI for cyber defense", None),
    (
        "en-except-other-term",
        CYBER,
        None,
        "AI for cyber defense and the military",
        ["AI", "military"],
    ),
    (
        "en-except-other-place",
        CYBER,
        None,
        "AI cyber defense, AI missile defense",
        ["AI", "=defense"],
    ),
    ("de-except", CYBER, None, "KI Cyberverteidigung", None),
    ("de-except-wildcard", CYBER, None, "KI und Verteidigung", ["KI", "Verteidigung*"]),
    ("en-except-figurative", CYBER, None, "AI is the weapon of choice", None),
    ("en-except-not-inside", CYBER, None, "AI weapons of choice", ["AI", "weapon*"]),
    ("fr-except-accents", CYBER, None, "L'IA et la défense nationale", None),
    ("fr-except-antivirus", CYBER, None, "IA : défense antivirus", None),
    ("en-except-none-still-vetoes", CYBER, None, "AI military NFL", None),
    # `none` vetoes.
    (
        "en-none",
        TopicRule("t", any=("defence",), none=("defence lawyer",)),
        None,
        "his defence lawyer",
        None,
    ),
    (
        "en-none-absent",
        TopicRule("t", any=("defence",), none=("defence lawyer",)),
        None,
        "missile defence",
        ["defence"],
    ),
    (
        "fr-none",
        TopicRule("t", any=("armée*",), none=("Armée du Salut",)),
        None,
        "l'armée du salut",
        None,
    ),
    (
        "de-none-in-title",
        TopicRule("t", any=("Verteidigung*",), none=("Fußball*",)),
        "Fussball-Bundesliga",
        "Die Verteidigung",
        None,
    ),
    (
        "en-none-vetoes-all",
        TopicRule("t", all=(("AI",), ("military",)), none=("Ai Weiwei",)),
        None,
        "AI military Ai Weiwei",
        None,
    ),
    # `all`: every group somewhere.
    ("en-all-far-apart", MILITARY_AI, None, f"AI {fill(200)} military", ["AI", "military"]),
    (
        "en-all-several",
        MILITARY_AI,
        None,
        "artificial intelligence, AI, and defence",
        ["AI", "artificial intelligence", "defence"],
    ),
    ("en-all-missing-group", MILITARY_AI, None, "AI and artificial intelligence", None),
    ("fr-all", META, None, "l'IA et la sécurité nationale", ["IA", "sécurité nationale"]),
    ("fr-all-missing-group", META, None, "l'IA et la sécurité sociale", None),
    ("de-all", KI_NEAR, None, "KI für die Bundeswehr", ["KI", "Bundeswehr"]),
    ("de-all-case", KI_NEAR, None, "Ki für die Bundeswehr", None),
    # `near`: one match per group within a span of N words of one segment.
    (
        "en-near-beyond",
        MILITARY_AI_NEAR,
        None,
        f"artificial intelligence {fill(200)} defence",
        None,
    ),
    ("en-near-span-15", MILITARY_AI_NEAR, None, f"AI {fill(13)} defence", ["AI", "defence"]),
    ("en-near-span-16", MILITARY_AI_NEAR, None, f"AI {fill(14)} defence", None),
    ("en-near-any-order", MILITARY_AI_NEAR, None, f"defence {fill(13)} AI", ["AI", "defence"]),
    (
        "en-near-phrase-span-15",
        MILITARY_AI_NEAR,
        None,
        f"artificial intelligence {fill(12)} defence",
        ["artificial intelligence", "defence"],
    ),
    (
        "en-near-phrase-span-16",
        MILITARY_AI_NEAR,
        None,
        f"artificial intelligence {fill(13)} defence",
        None,
    ),
    (
        "en-near-window-terms",
        MILITARY_AI_NEAR,
        None,
        f"military {fill(50)} AI and defence",
        ["AI", "defence"],
    ),
    ("en-near-both-sides", MILITARY_AI_NEAR, None, f"AI {fill(20)} military {fill(20)} AI", None),
    # The title's window, and the title with the lead.
    (
        "fr-near-meta",
        META,
        META_TITLE,
        META_TEXT,
        ["IA", "usage militaire", "sécurité nationale", "militaire*"],
    ),
    ("fr-near-beyond", META, None, f"L'IA générative. {fill(40)} La sécurité nationale.", None),
    (
        "de-near",
        KI_NEAR,
        None,
        f"Künstliche Intelligenz {fill(5)} Verteidigungsministerium",
        ["künstlich* Intelligenz", "Verteidigung*"],
    ),
    ("de-near-beyond", KI_NEAR, None, f"Künstliche Intelligenz {fill(30)} die Bundeswehr", None),
    # A rule with both `any` and `all` applies if either part does.
    ("en-any-or-all-any", ROBOTS, None, "Ban killer robots", ["killer robot*"]),
    ("en-any-or-all-all", ROBOTS, None, "AI weapons", ["AI", "weapon*"]),
    ("en-any-or-all-neither", ROBOTS, None, f"AI {fill(9)} weapons", None),
    # Reported terms: as written, each once, in rule order.
    (
        "fr-report-order",
        TopicRule("t", any=("Défense", "IA")),
        None,
        "IA, defense, IA, DÉFENSE",
        ["Défense", "IA"],
    ),
]


@pytest.mark.parametrize(
    ("rule", "title", "text", "expected"), [pytest.param(*c[1:], id=c[0]) for c in RULE_CASES]
)
def test_rule(
    rule: TopicRule, title: str | None, text: str | None, expected: list[str] | None
) -> None:
    result = Matcher([rule]).match(title, text)
    assert result == ({} if expected is None else {"t": expected})


def test_topics_in_rule_order() -> None:
    matcher = Matcher(
        [
            TopicRule("t", any=("KI",)),
            TopicRule("a", any=("Bundeswehr",)),
            TopicRule("z", any=("KI",)),
        ]
    )
    assert list(matcher.match("Die Bundeswehr", "KI")) == ["t", "a", "z"]
    assert matcher.match(None, None) == {}
    assert matcher.match("", "") == {}


def test_matcher_is_reusable() -> None:
    matcher = Matcher([META])
    assert matcher.match(None, "l'IA pour un usage militaire") == {
        "t": ["IA", "usage militaire", "militaire*"]
    }
    assert matcher.match(None, "la météo") == {}
    assert matcher.match(None, "l'IA pour un usage militaire") == {
        "t": ["IA", "usage militaire", "militaire*"]
    }


@pytest.mark.parametrize(
    ("term", "complaint"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("*", "'*' may only end a word"),
        ("*ai", "'*' may only end a word"),
        ("mil*tary", "'*' may only end a word"),
        ("militar**", "'*' may only end a word"),
        ("künstlich * Intelligenz", "'*' may only end a word"),
        ("---", "no word characters"),
        ("’", "no word characters"),
        ("\u0301", "no word characters"),
        (2024, "not a string"),
        # Invisible characters split or hide words: the term would never match as it reads.
        ("mili\u200dtary", "invisible character, U+200D (ZERO WIDTH JOINER)"),
        ("mili\u200btary", "U+200B (ZERO WIDTH SPACE)"),
        ("mili\u00adtary", "U+00AD (SOFT HYPHEN)"),
        ("\ufeffNATO", "U+FEFF"),
        ("\u2066NATO\u2069", "U+2066"),
        ("NATO\x00", "U+0000"),
        ("NATO\x1b[0m", "U+001B"),
    ],
)
def test_check_term_rejects(term: str, complaint: str) -> None:
    with pytest.raises(TermError, match=re.escape(complaint)) as error:
        check_term(term)
    assert repr(term) in str(error.value)


@pytest.mark.parametrize(
    "term",
    [
        "AI",
        "militar*",
        "künstlich* Intelligenz",
        "l'IA",
        "KI-Strategie",
        "G7",
        "national\nsecurity",
        "人工智能",
    ],
)
def test_check_term_accepts(term: str) -> None:
    check_term(term)


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        (TopicRule("ai", any=("AI", "*ai")), "topic 'ai': term '*ai'"),
        (TopicRule("ai", all=(("AI",), ("mil*tary",))), "topic 'ai': term 'mil*tary'"),
        (TopicRule("ai", any=("AI",), none=("",)), "topic 'ai': term '' is empty"),
        (TopicRule("ai", any="AI"), "topic 'ai': `any` must be a list of terms"),
        (TopicRule("ai", all=("AI", "military")), "topic 'ai': each `all` group must be a list"),
        (TopicRule("ai", none=("AI",)), "topic 'ai' has no `any` or `all` terms"),
        (TopicRule("ai", all=(("AI",), ())), "topic 'ai' has an empty `all` group"),
        (TopicRule("ai", any=("AI",), near=15), "topic 'ai': `near` needs `all` groups"),
        (TopicRule("ai", all=(("AI",),), near=0), "topic 'ai': `near` must be a number of words"),
        (TopicRule("", any=("AI",)), "topic name '' is empty"),
    ],
)
def test_matcher_rejects(rule: TopicRule, complaint: str) -> None:
    with pytest.raises(TermError, match=re.escape(complaint)):
        Matcher([rule])


def test_matcher_rejects_duplicate_topic() -> None:
    with pytest.raises(TermError, match="topic 'ai' is defined twice"):
        Matcher([TopicRule("ai", any=("AI",)), TopicRule("ai", any=("KI",))])


@pytest.mark.slow
def test_matcher_agrees_with_term_spans_on_real_texts() -> None:
    """`Matcher` (automaton, candidates) and `term_spans` (word by word) are two readings of
    the same rules: on real articles in many languages, each term is found by both or neither.
    Terms: the shipped topics' and the benchmark's (acronyms, wildcards, phrases, accents)."""
    from bench.tagging import rule_terms, shipped_rules, texts, vocabulary

    corpus = texts()[::20]  # 21 articles, of most languages of the corpus
    terms = list(
        dict.fromkeys(
            [t for rule in shipped_rules() for t in rule_terms(rule)]
            + [t for found in vocabulary(corpus).values() for t in found[:30]]
        )
    )
    matcher = Matcher([TopicRule(str(i), any=(term,)) for i, term in enumerate(terms)])
    disagreements, found = [], 0
    for title, text in corpus:
        tagged = {terms[int(name)] for name in matcher.match(title, text)}
        spotted = {t for t in terms if any(term_spans(s, [t]) for s in (title, text) if s)}
        found += len(spotted)
        disagreements += [(t, t in tagged) for t in tagged ^ spotted]
    assert found > 100  # the check has matches to compare
    assert disagreements == []


def test_why_not() -> None:
    matcher = Matcher([CYBER, TopicRule("k", any=("killer robot*",))])
    vetoed = matcher.match(None, "AI military NFL").why_not("t")
    assert vetoed is not None and vetoed.vetoed_by == ("NFL",)
    assert "vetoed by `none` term 'NFL'" in vetoed.reasons()
    found = matcher.match("Navy news", f"AI {fill(20)} military and cyber defense")
    far = found.why_not("t")
    assert far is not None and far.absent == () and far.closest == 22 and far.near == 15
    assert "closest window: 22 words, over `near: 15`" in far.reasons()
    assert "the title has no match of any group" in " ".join(far.reasons())
    assert far.cancelled == (("=defense", "cyber defense"), ("Cyber*", "cyber defense"))
    assert found.why_not("k") is not None and found.why_not("k").no_any
    cyber = matcher.match(None, "AI for cyber defense")
    miss = cyber.why_not("t")
    assert miss is not None and miss.absent_groups == (2,)
    assert miss.cancelled == (("=defense", "cyber defense"), ("Cyber*", "cyber defense"))
    assert "'=defense' did not count where it stood inside cyber defense" in miss.reasons()
    assert miss.reasons()[0].startswith("`all` group 2 (=defense, military, weapon*, Verteidigung*")
    lead = matcher.match("AI for the Navy", f"{fill(50)} military").why_not("t")
    assert lead is not None and lead.lead_absent == (2,) and lead.closest is None
    assert "title + first 40 words: no match of group 2" in lead.reasons()
    assert matcher.match(None, "AI military").why_not("t") is None
    with pytest.raises(KeyError):
        cyber.why_not("nope")


def test_spans_leave_out_cancelled_matches() -> None:
    title = "Cyber defense is not defense"
    text = "KI für die Verteidigung: die Cyberverteidigung, AI, A.I."
    matches = Matcher([CYBER, TopicRule("ai", any=("A.I.",))]).match(title, text)
    assert matches == {"t": ["AI", "KI", "=defense", "Verteidigung*"], "ai": ["A.I."]}
    assert [title[a:b] for a, b in matches.spans("title")] == ["defense"]
    assert [text[a:b] for a, b in matches.spans("text", ["t"])] == ["KI", "Verteidigung", "AI"]
    assert [text[a:b] for a, b in matches.spans("text", ["ai"])] == ["A.I"]
    accented = "Die Stra\u00dfe: KI und Vertei\u0308digung"  # "ß" and a decomposed mark
    spans = Matcher([CYBER]).match(None, accented).spans("text")
    assert [accented[a:b] for a, b in spans] == ["KI", "Vertei\u0308digung"]


def test_matches_pickle_as_a_plain_mapping() -> None:
    import pickle

    matches = Matcher([MILITARY_AI]).match(None, "AI military")
    copy = pickle.loads(pickle.dumps(matches))
    assert type(copy) is dict and copy == {"t": ["AI", "military"]}


def test_lead_and_exceptions_checked() -> None:
    with pytest.raises(TermError, match="`lead` must be a number of words"):
        Matcher([TopicRule("t", all=(AI,), near=5, lead=-1)])
    with pytest.raises(TermError, match="topic 't': term '=' is empty"):
        Matcher([TopicRule("t", any=AI, exceptions=("=",))])
