"""The shipped topics (config/topics.yaml) on text: on-beat stories, near misses, real news.

The first tables say what each topic is for, in English, French and German; the corpus test
pins what the topics tag in 505 real, general-news pages, so that any change of terms that
makes them tag something else fails here and gets looked at.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import trafilatura

from crawler.config.files import TOPIC_KEYS, load_topics
from crawler.match.terms import Matcher, TopicRule
from tests.config_files import yaml_data
from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ("ai-military", "autonomous-weapons", "ai-export-controls", "defense-ai-procurement")


def shipped_rules() -> list[TopicRule]:
    """The topics of topics.yaml, read as `newsmon` reads them."""
    return list(load_topics(ROOT / "config" / "topics.yaml"))


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(shipped_rules())


def test_shipped_topics() -> None:
    doc = yaml_data((ROOT / "config" / "topics.yaml").read_text(encoding="utf-8"))
    for topic in doc["topics"]:
        assert set(topic) <= TOPIC_KEYS, topic["name"]
        assert topic["description"], topic["name"]
    assert tuple(rule.name for rule in shipped_rules()) == TOPICS


# (id: language and story, title, text, the topics it must be tagged with, exactly)
ON_BEAT = [
    # ai-military
    (
        "en-pentagon-targeting",
        "Pentagon taps AI start-ups to speed up targeting",
        "The Department of Defense is expanding its use of artificial intelligence to sift "
        "drone footage and satellite imagery, officials said on Tuesday. Commanders want "
        "recommendations within minutes rather than hours.",
        {"ai-military"},
    ),
    (
        "en-openai-policy",
        "OpenAI quietly drops its ban on military uses",
        "The company removed language from its usage policy that prohibited the use of its "
        "technology for \u201cmilitary and warfare\u201d. It still bars people from using its "
        "models to develop weapons, a spokesperson said.",
        {"ai-military"},
    ),
    (
        "en-ukraine-drones",
        "Ukraine's drones find their targets despite jamming",
        "Ukrainian units are fitting cheap attack drones with AI-guided terminal navigation, so "
        "that they can finish their approach even when Russian electronic warfare cuts the link "
        "to the operator.",
        {"ai-military"},
    ),
    (
        "en-british-army",
        "Soldiers in Estonia to trial battlefield software",
        "The Ministry of Defence said troops deployed with the British Army would test a machine "
        "learning system that flags enemy vehicles on a tablet in real time.",
        {"ai-military"},
    ),
    (
        "fr-meta-llama",
        "Meta ouvre l'accès de ses IA open source aux États-Unis pour un usage militaire",
        "Le groupe de Mark Zuckerberg va mettre ses modèles Llama à la disposition des agences "
        "gouvernementales américaines chargées de la sécurité nationale, ainsi que de leurs "
        "sous-traitants. Jusqu'ici, sa politique d'utilisation interdisait ce type "
        "d'applications.",
        {"ai-military"},
    ),
    (
        "fr-amiad",
        "Les armées se dotent d'une agence pour l'intelligence artificielle",
        "Le ministère des Armées a inauguré à Balard l'Agence ministérielle pour l'intelligence "
        "artificielle de défense (AMIAD), chargée de développer des outils d'aide à la décision "
        "pour les forces armées et d'en piloter les achats.",
        {"ai-military", "defense-ai-procurement"},
    ),
    (
        "fr-ukraine-drones",
        "Ukraine : l'IA s'invite sur le champ de bataille",
        "Sur le front, les opérateurs ukrainiens recourent à des logiciels de guidage pour "
        "terminer l'approche de leurs drones lorsque le brouillage russe coupe la liaison.",
        {"ai-military"},
    ),
    (
        "fr-commandement",
        "Le commandement de l'armée de Terre mise sur l'IA",
        "Le général a présenté un plan pour entraîner les états-majors à travailler avec des "
        "outils d'intelligence artificielle d'ici 2030.",
        {"ai-military"},
    ),
    (
        "de-bundeswehr-satellite",
        "Bundeswehr setzt auf künstliche Intelligenz",
        "Die Bundeswehr will Satellitenbilder künftig mit Hilfe von KI auswerten lassen, teilte "
        "das Verteidigungsministerium in Berlin mit. Ein erstes System soll 2026 einsatzbereit "
        "sein.",
        {"ai-military"},
    ),
    (
        "de-nato-drones",
        "NATO testet KI-gestützte Drohnenabwehr",
        "Bei einer Übung in Norwegen haben Soldaten aus zwölf Mitgliedstaaten ein System erprobt, "
        "das feindliche Drohnen mithilfe von künstlicher Intelligenz erkennt.",
        {"ai-military"},
    ),
    (
        "de-ethics",
        "Wie viel Maschine verträgt die Kriegsführung?",
        "Ethiker warnen davor, dass Sprachmodelle in der militärischen Planung Entscheidungen "
        "vorwegnehmen, die Menschen vorbehalten bleiben müssten.",
        {"ai-military"},
    ),
    # autonomous-weapons
    (
        "en-geneva-talks",
        "UN talks on killer robots stall again",
        "Diplomats in Geneva failed to agree on a mandate to negotiate a treaty on lethal "
        "autonomous weapons systems, frustrating campaigners who want them banned.",
        {"autonomous-weapons"},
    ),
    (
        "en-guterres",
        "Guterres calls for a ban by 2026",
        "The UN secretary-general said autonomous weapons, which select and engage targets "
        "without human control, were \u201cpolitically unacceptable and morally repugnant\u201d.",
        {"autonomous-weapons"},
    ),
    (
        "fr-sala",
        "Les robots tueurs au menu des discussions à l'ONU",
        "La France plaide pour un encadrement des systèmes d'armes létaux autonomes (SALA) "
        "plutôt que pour leur interdiction pure et simple.",
        {"autonomous-weapons"},
    ),
    (
        "de-vienna",
        "Österreich lädt zur Konferenz über autonome Waffensysteme",
        "Wien will ein internationales Verbot von Killerrobotern voranbringen und hat dazu "
        "Vertreter aus mehr als hundert Staaten eingeladen.",
        {"autonomous-weapons"},
    ),
    # ai-export-controls
    (
        "en-h20",
        "US tightens export controls on AI chips to China",
        "The Commerce Department said the new rules would stop Nvidia from shipping its H20 "
        "processors to Chinese customers without a licence.",
        {"ai-export-controls"},
    ),
    (
        "en-asml",
        "Dutch government widens ASML export restrictions",
        "The Netherlands will require licences for more of ASML's deep ultraviolet lithography "
        "machines, aligning with US curbs on China's access to semiconductor equipment.",
        {"ai-export-controls"},
    ),
    (
        "fr-puces",
        "Washington durcit les contrôles à l'exportation de puces vers la Chine",
        "Les nouvelles règles visent les processeurs graphiques les plus avancés de Nvidia et "
        "d'AMD, utilisés pour entraîner les modèles d'intelligence artificielle.",
        {"ai-export-controls"},
    ),
    (
        "de-halbleiter",
        "USA verschärfen Exportkontrollen für KI-Chips",
        "Die US-Regierung will verhindern, dass China Zugang zu den leistungsfähigsten "
        "Halbleitern von Nvidia erhält.",
        {"ai-export-controls"},
    ),
    # defense-ai-procurement
    (
        "en-maven",
        "Palantir wins $480 million Army contract",
        "The U.S. Army awarded Palantir a five-year contract to expand the Maven Smart System, "
        "the Pentagon's flagship artificial intelligence targeting tool.",
        {"ai-military", "defense-ai-procurement"},
    ),
    (
        "en-cdao",
        "Anduril and Scale AI among winners of new defense deals",
        "The Chief Digital and Artificial Intelligence Office awarded agreements worth up to "
        "$200 million each to companies building agentic workflows for warfighters.",
        {"ai-military", "defense-ai-procurement"},
    ),
    (
        "en-scale",
        "DoD awards Scale AI contract to test language models",
        "The company will build tools to evaluate chatbots before they are used in military "
        "planning, according to the announcement.",
        {"ai-military", "defense-ai-procurement"},
    ),
    (
        "fr-mistral",
        "Le ministère des Armées signe un contrat avec Mistral AI",
        "La Direction générale de l'armement a notifié un accord-cadre permettant aux armées "
        "d'utiliser les modèles de la start-up française sur leurs propres serveurs.",
        {"ai-military", "defense-ai-procurement"},
    ),
    (
        "de-helsing",
        "Bundeswehr bestellt KI-Software bei Helsing",
        "Das Beschaffungsamt BAAINBw hat mit dem Münchner Start-up einen Rahmenvertrag über die "
        "Auswertung von Sensordaten für den Eurofighter geschlossen.",
        {"ai-military", "defense-ai-procurement"},
    ),
    # The headline with the lead; the armed services by name; machine vision.
    (
        "en-headline-lead",
        "Army picks vendors for next-generation targeting",
        "Machine learning targeting tools from three start-ups will be tested next spring, "
        "the service said, after a competition that drew forty bids.",
        {"ai-military"},
    ),
    (
        "en-navy-vision",
        "Navy tests computer vision on patrol boats",
        "The service wants its crews to spot small craft sooner.",
        {"ai-military"},
    ),
    (
        "de-ki-luftwaffe",
        "Luftwaffe setzt auf KI-gesteuerte Aufklärung",
        "Die Auswertung von Sensordaten soll künftig schneller gehen.",
        {"ai-military"},
    ),
    (
        "fr-essaim-drones",
        "L'armée teste un essaim de drones",
        "Les essais ont eu lieu en Champagne.",
        {"ai-military"},
    ),
    # Export stories worded as limits and restrictions.
    (
        "en-export-limits",
        "U.S. restricts exports of AI chips to the Gulf",
        "The Commerce Department said the new rules cover advanced processors.",
        {"ai-export-controls"},
    ),
    (
        "fr-restrictions-exportation",
        "Nvidia",
        "Washington assouplit les restrictions sur l'exportation de puces vers la Chine.",
        {"ai-export-controls"},
    ),
]


@pytest.mark.parametrize(
    ("title", "text", "topics"), [pytest.param(*case[1:], id=case[0]) for case in ON_BEAT]
)
def test_on_beat(matcher: Matcher, title: str, text: str, topics: set[str]) -> None:
    assert set(matcher.match(title, text)) == topics


def test_every_topic_on_beat_in_every_language() -> None:
    covered = {(case[0][:2], topic) for case in ON_BEAT for topic in case[3]}
    assert {(lang, topic) for lang in ("en", "fr", "de") for topic in TOPICS} <= covered
    assert all(
        sum("ai-military" in case[3] for case in ON_BEAT if case[0].startswith(lang)) >= 3
        for lang in ("en", "fr", "de")
    )


KINGS_SPEECH = (
    "Labour set out more than 35 bills in its first King's Speech on Wednesday.\n\n"
    "1. A bill to regulate artificial intelligence\n\n"
    "Ministers will place requirements on the companies developing the most powerful models, "
    "the King said, without giving a date.\n\n"
    "2. Rail nationalisation\n\n"
    "Train operators will be brought into public ownership as their contracts expire, in a "
    "move the unions have long campaigned for and that the opposition called costly and "
    "unnecessary for passengers.\n\n"
    "3. Planning reform\n\n"
    "The government wants 1.5 million new homes built over the parliament and will restore "
    "mandatory housing targets for councils in England.\n\n"
    "4. Security\n\n"
    "The government pledged full support for Nato and said the armed forces would be "
    "reviewed in a strategic defence review."
)

# (id, title, text, topics it is tagged with, exactly: mostly none)
OFF_BEAT = [
    (
        "en-chatbots-in-schools",
        "Schools turn to AI chatbots for homework help",
        "Teachers in several districts are piloting chatbots built on large language models. "
        "Some admit they are fighting a losing battle against AI-written essays, while the "
        "union wants clear rules before the next school year.",
        set(),
    ),
    (
        "fr-ia-a-l-ecole",
        "Le ministre défend l'IA en classe",
        "Le ministre de l'Éducation nationale défend un usage encadré de l'intelligence "
        "artificielle au lycée, malgré les réserves des syndicats d'enseignants.",
        set(),
    ),
    (
        "en-defence-budget",
        "Defence spending to reach 2.5% of GDP",
        "The Ministry of Defence will buy new frigates, air-defence missiles and artillery "
        "shells, and the armed forces will recruit 5,000 more soldiers by 2028.",
        set(),
    ),
    (
        "de-wehretat",
        "Bundestag beschließt Rekordetat für die Bundeswehr",
        "Mit dem Geld sollen Munition, Kampfdrohnen und neue Fregatten beschafft werden. Die "
        "Opposition kritisiert, die Verteidigungsausgaben gingen zulasten der Bildung.",
        set(),
    ),
    ("en-kings-speech", "King's Speech: five key policies", KINGS_SPEECH, set()),
    (
        "en-car-sales",
        "European car sales rise in the first half",
        "New car registrations rose 4.4% in the first half, the industry association said, "
        "helped by hybrids and by driver assistance systems powered by AI in mid-range "
        "models.\n\n" + "Dealers reported strong demand in Spain and Italy. " * 8 + "\n\n"
        "Elsewhere, parts maker Schaeffler said it would supply components to the defence "
        "industry as car demand slows.",
        set(),
    ),
    (
        "en-debt-collectors",
        "Revenue service gets R4bn to hire an army of debt collectors",
        "The revenue service will hire an army of debt collectors and invest in artificial "
        "intelligence to find people who underreport their income.",
        set(),
    ),
    (
        "en-legal-ai",
        "Lawyer sanctioned over fake citations",
        "A defense attorney who used AI to draft a motion was fined after the brief cited cases "
        "that do not exist.",
        set(),
    ),
    (
        "en-nfl",
        "How machine learning reads an NFL defense",
        "Teams feed years of tracking data to models that predict where the defense will "
        "blitz before the snap.",
        set(),
    ),
    (
        "de-agrar-ki",
        "KI hilft im Kampf gegen den Borkenkäfer",
        "Förster lassen Drohnenbilder von künstlicher Intelligenz auswerten, um befallene "
        "Fichten früher zu erkennen.",
        set(),
    ),
    (
        "en-gun-laws",
        "NEW GUN LAWS: ASSAULT WEAPONS BANNED",
        "The state legislature passed the package on Thursday.",
        set(),
    ),
    (
        "en-robotaxis",
        "Autonomous vehicles: new laws for robotaxis",
        "Driverless cars will need a safety driver on motorways until 2027.",
        set(),
    ),
    (
        "en-chip-exports-up",
        "Taiwan's chip exports hit a record on AI demand",
        "Shipments of semiconductors rose 30% from a year earlier, the finance ministry said.",
        set(),
    ),
    (
        "de-exportverbot",
        "Exportverbot für Schweinefleisch aufgehoben",
        "China erlaubt wieder Einfuhren aus Brandenburg, teilte das Landwirtschaftsministerium "
        "mit.",
        set(),
    ),
    (
        "en-civil-contract",
        "Microsoft wins NHS contract for AI scribes",
        "The health service will roll out software that drafts clinical notes in 40 hospitals.",
        set(),
    ),
    (
        "en-fighter-contract",
        "Pentagon awards $20 billion fighter contract",
        "The Air Force picked Boeing to build its next-generation fighter jet.",
        set(),
    ),
    # Corporate cybersecurity, figurative weapons, video games: their words do not count.
    (
        "fr-cyber-defense",
        "IA et cybersécurité : l'attaque et la défense",
        "L'IA permet aux équipes de sécurité de renforcer la défense des réseaux.",
        set(),
    ),
    (
        "en-cyber-defense",
        "AI start-up raises $50 million",
        "Its machine learning platform provides cyber defense for banks.",
        set(),
    ),
    (
        "en-weapon-of-choice",
        "Phone makers bet on on-device AI",
        "In the battle for photo quality, AI on the edge is the weapon of choice.",
        set(),
    ),
    (
        "de-ki-soldaten-game",
        "KI-Soldaten im Test",
        "Das Videospiel schickt uns mit schlauen Soldaten durch die Wüste.",
        set(),
    ),
    (
        "en-army-of-agents",
        "Start-up deploys an army of AI agents",
        "An army of AI agents now answers the phone.",
        set(),
    ),
]


@pytest.mark.parametrize(
    ("title", "text", "topics"), [pytest.param(*case[1:], id=case[0]) for case in OFF_BEAT]
)
def test_off_beat(matcher: Matcher, title: str, text: str, topics: set[str]) -> None:
    assert set(matcher.match(title, text)) == topics


def corpus_articles() -> Iterator[tuple[str, str | None, str | None]]:
    """(id, title, text) for every page of the corpus; text extracted where none is given."""
    articles = CORPUS / "articles"
    manifest = articles / "manifest.jsonl"
    assert manifest.is_file(), f"test corpus missing: {manifest}"
    with manifest.open(encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            text = entry["body"]
            if text is None:
                html = gzip.decompress((articles / entry["file"]).read_bytes())
                text = trafilatura.extract(html, include_comments=False)
            yield entry["id"], entry["title"], text


# What the shipped topics tag in the corpus: general news, next to nothing on this beat.
CORPUS_TAGS: dict[str, set[str]] = {
    "ai-military": set(),
    "autonomous-weapons": {
        # Blurb of a book on digital literacy (digitalcourage.de); its list of chapters has
        # "autonome Waffen und digitale Kriegsführung": a passing, but genuine, mention.
        "traf-digitalcourage-de-afcd56",
    },
    "ai-export-controls": set(),
    "defense-ai-procurement": set(),
}


@pytest.mark.slow
def test_corpus_precision(matcher: Matcher) -> None:
    tagged: dict[str, set[str]] = {topic: set() for topic in TOPICS}
    count = 0
    for article_id, title, text in corpus_articles():
        count += 1
        for topic in matcher.match(title, text):
            tagged[topic].add(article_id)
    assert count == 505
    assert tagged == CORPUS_TAGS
