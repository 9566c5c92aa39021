"""Screenshots of `newsmon serve` for the docs: `python docs/screenshots.py`.

Crawls the fixture outlets of the test suite (the French Meta article among them) with the
shipped topics, adds a month of synthetic hits from the shipped outlets with some review
decisions and source states, serves the app on 127.0.0.1 and photographs the hits, article,
topic quality and dashboard pages with Debian's headless Chromium (Playwright) into
docs/screenshots/, and the hits and an article at a phone's width (390 px).
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from crawler.config.files import load_config  # noqa: E402
from crawler.review.web import create_app  # noqa: E402
from crawler.schedule.polling import Outcome  # noqa: E402
from crawler.store.crawl_state import CrawlState  # noqa: E402
from crawler.store.database import engine_for  # noqa: E402
from crawler.store.reviews import set_review  # noqa: E402
from crawler.store.schema import articles  # noqa: E402
from tests.sites import Site  # noqa: E402
from tests.web_fixtures import crawl_fixture_outlets, serving, store_items, synthetic  # noqa: E402

OUT = REPO / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"

# (outlet, language, title, topic, terms)
STORIES = [
    (
        "breaking-defense",
        "en",
        "Army picks three vendors for AI targeting prototypes",
        "defense-ai-procurement",
        ["contract*", "AI"],
    ),
    (
        "defense-one",
        "en",
        "Pentagon's AI office wants battlefield models that explain themselves",
        "ai-military",
        ["AI", "battlefield*", "Pentagon"],
    ),
    (
        "defensescoop",
        "en",
        "CDAO extends Maven Smart System licence through 2027",
        "defense-ai-procurement",
        ["CDAO", "Maven Smart System"],
    ),
    (
        "war-on-the-rocks",
        "en",
        "What autonomous weapons negotiations in Geneva got wrong",
        "autonomous-weapons",
        ["autonomous weapon*"],
    ),
    (
        "the-register",
        "en",
        "Chatbot maker says its model is not a weapon, promises defence ban",
        "ai-military",
        ["chatbot*", "weapon*", "defence"],
    ),
    (
        "mit-technology-review-ai",
        "en",
        "Inside the race to put language models in the cockpit",
        "ai-military",
        ["language model*", "militar*"],
    ),
    (
        "zone-militaire",
        "fr",
        "L'armée de Terre teste l'IA pour la détection des drones",
        "ai-military",
        ["IA", "armée*"],
    ),
    (
        "le-monde-pixels",
        "fr",
        "Contrôles à l'exportation : Nvidia prépare une puce pour la Chine",
        "ai-export-controls",
        ["contrôle* à l'exportation", "Nvidia", "puce*"],
    ),
    (
        "numerama",
        "fr",
        "Robots tueurs : la France défend un encadrement plutôt qu'une interdiction",
        "autonomous-weapons",
        ["robot* tueur*"],
    ),
    (
        "heise",
        "de",
        "Bundeswehr bestellt KI-gestützte Lagebilder bei Helsing",
        "defense-ai-procurement",
        ["Bundeswehr", "KI", "Helsing"],
    ),
    (
        "netzpolitik",
        "de",
        "Exportkontrollen für KI-Chips: Was die neuen Regeln bedeuten",
        "ai-export-controls",
        ["Exportkontrolle*", "KI", "chip*"],
    ),
    (
        "augen-geradeaus",
        "de",
        "Künstliche Intelligenz im Gefechtsfeld: Erfahrungen aus der Ukraine",
        "ai-military",
        ["künstlich* Intelligenz", "Gefechtsfeld"],
    ),
    (
        "the-register",
        "en",
        "Video game studio uses AI to design military-style maps",
        "ai-military",
        ["AI", "militar*"],
    ),
    (
        "breaking-defense",
        "en",
        "Commerce adds chip smugglers to Entity List over GPU exports",
        "ai-export-controls",
        ["Entity List", "GPU*"],
    ),
]
IRRELEVANT_TERMS = {"chatbot*", "militar*"}  # what the analyst keeps rejecting


def fill(engine, now: datetime) -> dict[str, int]:
    """A month of synthetic hits, a third of them reviewed; the articles of a title are one
    story. Returns the first article of each title."""
    chance = random.Random(6)
    items = []
    for n in range(1, 161):
        outlet, language, title, topic, terms = chance.choice(STORIES)
        days, minutes = chance.betavariate(1.3, 2.2) * 30, chance.random() * 600
        when = now - timedelta(days=days, minutes=minutes)
        text = (f"{title}. " + " ".join(terms).replace("*", "s") + " … ") * 6
        kind = chance.choice(["update", "analysis", "report"])
        suffix = "" if n <= len(STORIES) else f" ({kind})"
        items.append(
            synthetic(
                n, title + suffix, text, {topic: terms}, source=outlet, language=language, when=when
            )
        )
    ids = store_items(engine, *items)
    first: dict[str, int] = {}
    for article_id, item in zip(ids, items, strict=True):  # some near-duplicates, as dedup marks
        story = (item.title or "").split(" (")[0]
        if story in first and chance.random() < 0.12:
            with engine.begin() as connection:
                connection.execute(
                    update(articles)
                    .where(articles.c.id == article_id)
                    .values(duplicate_of=first[story])
                )
        first.setdefault(story, article_id)
        with engine.begin() as connection:  # as the story stage groups them
            connection.execute(
                update(articles).where(articles.c.id == article_id).values(story_id=first[story])
            )
    for article_id, item in zip(ids, items, strict=True):
        if chance.random() < 0.35:
            terms = {t for found in item.matches.values() for t in found}
            verdict = "irrelevant" if terms & IRRELEVANT_TERMS else "relevant"
            set_review(engine, article_id, verdict)
            if chance.random() < 0.15:
                set_review(engine, article_id, "star")
    return first


def record_sources(engine, now: datetime) -> None:
    state = CrawlState(engine)
    for outlet in sorted({story[0] for story in STORIES}):
        url = f"https://{outlet}.example/feed"
        if outlet == "augen-geradeaus":
            for _ in range(3):
                state.record(outlet, url, Outcome("error", "HTTP 503"), now=now)
        else:
            state.record(outlet, url, Outcome("ok", "20 entries, 2 new", 20, 2), now=now)
        state.save_schedule(outlet, url, 1800.0, now + timedelta(minutes=30))


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    site = Site()
    with tempfile.TemporaryDirectory() as tmp:
        topics = load_config(REPO / "config").topics
        crawled = crawl_fixture_outlets(
            Path(tmp), f"sqlite:///{tmp}/newsmon.db", site, topics=topics
        )
        engine = engine_for(crawled.database)
        first = fill(engine, now)
        record_sources(engine, now)
        with engine.connect() as connection:
            meta = connection.execute(
                select(articles.c.id).where(articles.c.title.startswith("Meta ouvre"))
            ).scalar_one()
        set_review(engine, meta, "relevant", note="Llama opened to US defence: brief the team.")
        set_review(engine, meta, "star")
        app = create_app(engine, load_config(crawled.config))
        shots = {
            "hits": "/hits",
            "article": f"/articles/{meta}?topic=ai-military",
            "topics": "/topics",
            "dashboard": "/dashboard",
        }
        with serving(app) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
            )
            page = browser.new_page(viewport={"width": 1360, "height": 900}, device_scale_factor=1)
            for name, path in shots.items():
                page.goto(base + path)
                if name == "hits":
                    page.keyboard.press("j")  # a selected row, as during triage
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=name != "hits")
                print(f"docs/screenshots/{name}.png")
            # A phone's width: hits as cards, an article of a story with its review bar.
            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
            story = first[STORIES[0][2]]
            for name, path in (("hits-phone", "/hits"), ("article-phone", f"/articles/{story}")):
                phone.goto(base + path)
                phone.screenshot(path=str(OUT / f"{name}.png"))
                print(f"docs/screenshots/{name}.png")
            browser.close()
    site.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
