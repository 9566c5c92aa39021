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


# --- phone and desktop widths ---------------------------------------------------------------

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}


@pytest.fixture(params=[PHONE, DESKTOP], ids=["390px", "1280px"])
def sized(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=request.param)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, errors


def no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], (page.url, width)


def in_view_and_clickable(page: Page, selector: str) -> None:
    """The element is inside the viewport as it opens, and nothing covers its centre."""
    element = page.locator(selector).first
    box = element.bounding_box()
    size = page.viewport_size
    assert box and size, selector
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (selector, box)
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (selector, box)
    on_top = page.evaluate(
        """([x, y, selector]) => {
            const hit = document.elementFromPoint(x, y);
            return Boolean(hit && hit.closest(selector) === document.querySelector(selector));
        }""",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, selector],
    )
    assert on_top, selector


def test_hits_and_article_fit_phone_and_desktop(
    sized: Page, served: tuple[str, Engine, int]
) -> None:
    base, engine, hostile = served
    page = sized
    for path in ("/hits", "/topics", "/dashboard", f"/articles/{hostile}", "/hits?topic=nope"):
        page.goto(base + path)
        no_horizontal_overflow(page)
    page.goto(f"{base}/hits?q=Llama")
    meta = int(page.locator("tr.hit").first.get_attribute("data-id") or 0)
    in_view_and_clickable(page, "tr.hit .act.relevant")
    page.locator("tr.hit .act.relevant").first.click()
    page.wait_for_selector("tr.hit.relevant")
    assert review_marks(engine, [meta]) == {meta: "relevant"}
    # The article: its review buttons are on screen as it opens (a bar at the bottom of a
    # phone's screen), and a verdict moves on to the next hit.
    page.goto(f"{base}/articles/{meta}")
    no_horizontal_overflow(page)
    in_view_and_clickable(page, ".review-panel .act.irrelevant")
    page.locator(".review-panel .act.irrelevant").click()
    page.wait_for_url(lambda url: f"/articles/{meta}" not in url)
    assert review_marks(engine, [meta]) == {meta: "irrelevant"}
    no_horizontal_overflow(page)
    in_view_and_clickable(page, ".review-panel .act.relevant")


def test_bulk_triage_in_the_browser(page: Page, served: tuple[str, Engine, int]) -> None:
    base, engine, _ = served
    page.goto(f"{base}/hits")
    ids = [
        int(i or 0)
        for i in page.locator("tr.hit").evaluate_all("rows => rows.map(row => row.dataset.id)")
    ]
    assert len(ids) == 4
    page.locator("td.pick input").nth(0).check()
    page.locator("td.pick input").nth(2).check()
    assert page.locator("[data-picked]").inner_text() == "2 selected"
    page.locator("form.bulk .act.irrelevant").click()
    page.wait_for_selector("text=2 hits marked irrelevant.")
    assert review_marks(engine, ids) == {ids[0]: "irrelevant", ids[2]: "irrelevant"}
    # "All on this page" ticks every hit; unticking one leaves the others.
    page.locator("[data-pick-all]").check()
    assert page.locator("td.pick input:checked").count() == 4
    page.locator("td.pick input").nth(1).uncheck()
    assert not page.locator("[data-pick-all]").is_checked()
    assert page.locator("[data-picked]").inner_text() == "3 selected"
    page.locator("form.bulk .act.relevant").click()
    page.wait_for_selector("text=3 hits marked relevant.")
    marks = review_marks(engine, ids)
    assert ids[1] not in marks and [marks[i] for i in ids if i != ids[1]] == ["relevant"] * 3


def test_previous_and_next_look_as_they_work(page: Page, served: tuple[str, Engine, int]) -> None:
    """A link looks like a button (accent colour, solid border); an end of the list does not
    (greyed, dashed): "‹ Previous" used to look disabled while it was a link."""
    base, _, _ = served
    page.goto(f"{base}/hits")
    first = page.locator("tr.hit").first.get_attribute("data-id")
    page.goto(f"{base}/articles/{first}")
    look = page.evaluate(
        """() => Array.from(document.querySelectorAll('.article-nav .step'), (e) => {
            const style = getComputedStyle(e);
            return [e.tagName, e.textContent.trim(), style.color, style.borderTopStyle];
        })"""
    )
    (off_tag, off_text, off_color, off_border), (tag, text, color, border) = look
    assert (off_tag, off_text, off_border) == ("SPAN", "‹ Previous", "dashed")
    assert (tag, text, border) == ("A", "Next ›", "solid")
    assert color == "rgb(47, 95, 152)" and off_color != color  # --accent
    page.click("text=Next ›")
    page.wait_for_url(lambda url: f"/articles/{first}" not in url)
    assert page.locator("a.step[rel=prev]").is_visible()
