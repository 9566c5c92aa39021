"""`newsmon serve` in a real browser: Debian's Chromium, headless, driven by Playwright, over
real HTTP on 127.0.0.1. Filter, search, mark relevant with the keyboard and the mouse, the
dashboard chart, and a hostile article that must stay inert. Fails, never skips, when
Chromium is missing (`.ci/run` installs it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine

from crawler.config.files import load_config
from crawler.review.web import create_app
from crawler.store.database import engine_for
from crawler.store.reviews import review_marks
from tests.web_fixtures import (
    XSS_TITLE,
    Crawled,
    insert_hostile,
    serving,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
META = "Meta ouvre l'accès de ses IA open source aux États-Unis pour un usage militaire"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def served(crawled_outlets: Crawled, tmp_path: Path) -> Iterator[tuple[str, Engine, int]]:
    """A private copy of the crawled store with the hostile article, served on 127.0.0.1."""
    source = Path(crawled_outlets.database.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", tmp_path / f"newsmon.db{suffix}")
    engine = engine_for(f"sqlite:///{tmp_path / 'newsmon.db'}")
    hostile = insert_hostile(engine)
    with serving(create_app(engine, load_config(crawled_outlets.config))) as base:
        yield base, engine, hostile


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, errors  # no script error on any page


def headlines(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("a.headline").all_inner_texts()]


def test_filter_and_search(page: Page, served: tuple[str, Engine, int]) -> None:
    base, _, _ = served
    page.goto(f"{base}/hits")
    assert len(headlines(page)) == 4
    page.select_option("select[name=topic]", "nato")
    page.click("text=Apply")
    page.wait_for_url("**/hits?*topic=nato*")
    assert [h.split()[0] for h in headlines(page)] == ["Pentagon"]
    page.click("text=Reset")
    page.wait_for_url(f"{base}/hits")
    page.keyboard.press("/")  # the search shortcut focuses the box
    page.keyboard.type("Llama")
    page.keyboard.press("Enter")
    page.wait_for_url("**/hits?q=Llama*")
    assert headlines(page) == [META]
    page.keyboard.press("o")  # open the selected hit
    page.wait_for_url("**/articles/*")
    assert page.locator("h1").inner_text() == META
    assert page.locator(".text mark").count() >= 2


def test_mark_relevant_in_the_list_and_the_article(
    page: Page, served: tuple[str, Engine, int]
) -> None:
    base, engine, _ = served
    page.goto(f"{base}/hits?q=Llama")
    row = page.locator("tr.hit").first
    meta = int(row.get_attribute("data-id") or 0)
    page.keyboard.press("r")  # saved in place, without a reload
    page.wait_for_selector("tr.hit.relevant")
    assert review_marks(engine, [meta]) == {meta: "relevant"}
    page.reload()
    assert "relevant" in (page.locator("tr.hit").first.get_attribute("class") or "")
    assert page.locator("tr.hit .act.relevant").get_attribute("aria-pressed") == "true"
    page.locator("tr.hit .act.star").click()
    page.wait_for_selector("tr.hit.starred")
    assert review_marks(engine, [meta]) == {meta: "relevant ★"}
    # In the article: a note, then a verdict from the keyboard, which moves to the next hit.
    page.goto(f"{base}/articles/{meta}")
    page.fill("#note", "Llama, opened to the US military")
    page.click("text=Save note")
    page.wait_for_load_state()
    assert page.locator("#note").input_value() == "Llama, opened to the US military"
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("i")
    page.wait_for_url(lambda url: f"/articles/{meta}" not in url)
    assert review_marks(engine, [meta]) == {meta: "irrelevant ★"}
    page.keyboard.press("?")
    assert page.locator("dialog#help").is_visible()


def test_dashboard_chart_is_drawn(page: Page, served: tuple[str, Engine, int]) -> None:
    base, _, _ = served
    page.goto(f"{base}/dashboard")
    chart = page.locator("svg.chart")
    box = chart.bounding_box()
    assert box and box["width"] > 600 and box["height"] > 100
    bars = chart.locator("rect")
    assert bars.count() >= 1
    bar = bars.first.bounding_box()
    assert bar and bar["height"] > 10
    assert page.locator("table.health").inner_text().count("FAILING") == 1
    page.click("text=90 days")
    assert "90 days" in (chart.get_attribute("aria-label") or "")


def test_hostile_article_stays_inert(page: Page, served: tuple[str, Engine, int]) -> None:
    base, _, hostile = served
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for path in ("/hits", f"/articles/{hostile}", "/hits?q=military", "/topics", "/dashboard"):
        page.goto(base + path)
        page.wait_for_load_state("load")
        page.wait_for_timeout(200)
    assert dialogs == []
    page.goto(f"{base}/articles/{hostile}")
    assert page.locator("h1").inner_text() == XSS_TITLE  # shown as text
    assert page.locator("main img, main svg[onload], main script").count() == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 1  # keys.js alone
    assert page.locator("a[href^='javascript:'], a[href^='data:']").count() == 0
    # Even a script smuggled past escaping could not run: the policy forbids inline scripts.
    blocked = page.evaluate("""() => new Promise(resolve => {
        document.addEventListener('securitypolicyviolation', e => resolve(e.violatedDirective));
        const s = document.createElement('script'); s.textContent = 'window.ran = 1';
        document.body.appendChild(s);
        setTimeout(() => resolve(window.ran ? 'ran' : 'none'), 1000);
    })""")
    assert blocked.startswith("script-src")
