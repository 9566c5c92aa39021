"""The daily use of `newsmon serve`, in process on a small store (SQLite and PostgreSQL):
bulk triage (one POST, CSRF, one transaction), topics with their rules, the other articles of
a story, notices where a search or a filter is not read as typed, a dashboard chart that
counts articles (not article-topic pairs) and links sources to their hits, Previous and Next
on an article outside the hits list, and the request log of `newsmon serve`. Real Chromium at
phone and desktop widths: tests/test_web_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, update
from werkzeug.test import Client

from crawler.config.files import load_config
from crawler.review.web import create_app
from crawler.review.web.access_log import RequestLog, request_line
from crawler.review.web.inputs import search_notes
from crawler.store.database import engine_for
from crawler.store.reviews import daily_articles, daily_hits, review_marks, set_review
from crawler.store.schema import articles
from crawler.store.search import search_terms
from tests.web_fixtures import store_items, synthetic

HOSTILE_TERM = "<script>alert(1)</script>"
RULES = [
    {
        "name": "ai-military",
        "description": "AI in the <em>armed</em> forces",
        "all": [["AI", "künstlich* Intelligenz"], ["military", "army"]],
        "near": 15,
        "lead": 0,
        "none": ["video game"],
        "except": ["cyber defense"],
    },
    {"name": "nato", "any": ["NATO", HOSTILE_TERM]},
]
BOTH = {"ai-military": ["AI", "military"], "nato": ["NATO"]}


@dataclass
class Served:
    app: Flask
    client: FlaskClient
    engine: Engine
    ids: list[int]  # two military hits, one with both topics, one NATO hit, one untagged


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, make_config, tmp_path: Path) -> Iterator[Served]:
    database = (
        f"sqlite:///{tmp_path / 'newsmon.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    sources = [{"name": "wire", "url": "https://wire.example/feed"}]
    config = load_config(make_config(sources, RULES, database=database))
    engine = engine_for(database)
    now = datetime.now(UTC)
    ids = store_items(
        engine,
        synthetic(1, "AI for the military", "AI.", {"ai-military": ["AI", "military"]}, when=now),
        synthetic(2, "AI, the army and NATO", "NATO.", BOTH, when=now - timedelta(minutes=1)),
        synthetic(3, "NATO summit", "NATO.", {"nato": ["NATO"]}, when=now - timedelta(minutes=2)),
        synthetic(4, "Sourdough at home", "Bread.", {}, when=now - timedelta(minutes=3)),
    )
    app = create_app(engine, config)
    yield Served(app, app.test_client(), engine, ids)
    engine.dispose()


def csrf(client: FlaskClient, path: str = "/hits") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found, "no CSRF token in the page"
    return found.group(1)


def html_of(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


# --- bulk triage ----------------------------------------------------------------------------


def test_bulk_review_marks_the_ticked_hits_in_one_post(served: Served) -> None:
    client, engine, ids = served.client, served.engine, served.ids
    html = html_of(client, "/hits")
    assert 'form id="bulk"' in html and f'name="id" value="{ids[0]}" form="bulk"' in html
    assert f'name="page_ids" value="{ids[0]},{ids[1]},{ids[2]}"' in html
    token = csrf(client)
    # Without the CSRF token: refused, nothing changes.
    refused = client.post("/hits/review", data={"action": "irrelevant", "id": [str(ids[0])]})
    assert refused.status_code == 400 and review_marks(engine, ids) == {}
    done = client.post(
        "/hits/review?topic=ai-military",
        data={
            "csrf_token": token,
            "action": "irrelevant",
            "id": [str(ids[0]), str(ids[1])],
            "back": "/hits?topic=ai-military",
        },
    )
    assert done.status_code == 302 and done.headers["Location"] == "/hits?topic=ai-military"
    assert review_marks(engine, ids) == {ids[0]: "irrelevant", ids[1]: "irrelevant"}
    assert "2 hits marked irrelevant." in html_of(client, "/hits?topic=ai-military")
    # "All on this page": every id of the page, ticked or not; notes and stars are kept.
    set_review(engine, ids[2], "star", note="keep this note")
    page_ids = ",".join(map(str, ids[:3]))
    client.post(
        "/hits/review",
        data={"csrf_token": token, "action": "relevant", "all": "1", "page_ids": page_ids},
    )
    assert review_marks(engine, ids) == {i: "relevant" for i in ids[:2]} | {ids[2]: "relevant ★"}
    assert "3 hits marked relevant." in html_of(client, "/hits")
    client.post("/hits/review", data={"csrf_token": token, "action": "clear", "id": str(ids[0])})
    assert ids[0] not in review_marks(engine, ids)


def test_bulk_review_refuses_bad_values_and_changes_nothing(served: Served) -> None:
    client, engine, ids = served.client, served.engine, served.ids
    token = csrf(client)
    for form, message in (
        ({"action": "star", "id": str(ids[0])}, "action: &#39;star&#39; is not one of"),
        ({"action": "relevant", "id": "1 OR 1=1"}, "id: not an article id"),
        ({"action": "relevant", "id": [str(ids[0]), "999999"]}, "id: no article with id 999999"),
        ({"action": "relevant", "id": "9" * 19}, "id: no article with id"),
        ({"action": "relevant", "all": "1", "page_ids": "1,x"}, "page_ids: not an article id"),
    ):
        response = client.post("/hits/review", data={"csrf_token": token, **form})
        assert response.status_code == 400, form
        assert message in response.get_data(as_text=True), form
    assert review_marks(engine, ids) == {}  # the valid id of a refused request is not marked
    nothing = client.post("/hits/review", data={"csrf_token": token, "action": "relevant"})
    assert nothing.status_code == 302
    assert "Nothing marked: tick the hits to mark" in html_of(client, "/hits")


# --- topics, stories --------------------------------------------------------------------------


def test_topics_page_shows_each_rule_escaped(served: Served) -> None:
    html = html_of(served.client, "/topics")
    military = html[html.index("ai-military</a></h2>") : html.index("nato</a></h2>")]
    assert "AI in the &lt;em&gt;armed&lt;/em&gt; forces" in military
    assert re.search(
        r"<dt[^>]*>all</dt><dd><span class=\"group\"><code>AI</code> <code>künstlich\* "
        r"Intelligenz</code></span><span class=\"and\">and</span><span class=\"group\">"
        r"<code>military</code> <code>army</code></span></dd>",
        military,
    ), military
    assert "15 words; lead 0 words" in military
    assert "<code>video game</code>" in military and "<code>cyber defense</code>" in military
    assert ">any</dt>" not in military  # only the keys the rule sets
    nato = html[html.index("nato</a></h2>") :]
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in nato
    assert HOSTILE_TERM not in html
    # Next to its precision.
    set_review(served.engine, served.ids[0], "relevant")
    html = html_of(served.client, "/topics")
    assert re.search(r'100%</span>.*?</div>\s*</div>\s*<details class="rule" open>', html, re.S)
    assert "<summary>Rule: 6 terms, 2 groups, near 15 words</summary>" in html
    # A topic found only in the store has no rule to show, and says so.
    store_items(served.engine, synthetic(9, "Old", "Old.", {"retired": ["old"]}))
    assert "Not in topics.yaml: its hits were tagged by an earlier rule." in html_of(
        served.client, "/topics"
    )


def test_article_lists_the_other_articles_of_its_story(served: Served) -> None:
    client, engine, ids = served.client, served.engine, served.ids
    with engine.begin() as connection:
        connection.execute(
            update(articles).where(articles.c.id.in_(ids[:3])).values(story_id=ids[0])
        )
        connection.execute(
            update(articles).where(articles.c.id == ids[2]).values(title="<b>NATO</b> summit")
        )
    html = html_of(client, f"/articles/{ids[0]}")
    assert "Same story (2 others)" in html
    assert f'<a href="/articles/{ids[1]}">AI, the army and NATO</a>' in html
    assert f'<a href="/articles/{ids[2]}">&lt;b&gt;NATO&lt;/b&gt; summit</a>' in html
    assert f'href="/articles/{ids[0]}">' not in html.split("Same story")[1].split("</section>")[0]
    alone = html_of(client, f"/articles/{ids[3]}")
    assert "Same story" not in alone


# --- notices instead of silent fallbacks ------------------------------------------------------


def test_search_that_is_not_read_as_typed_says_so(served: Served) -> None:
    client = served.client
    every = html_of(client, "/hits?q=%2A%2A%2A")  # "***": no word to look for
    assert "Nothing to search for in &#39;***&#39;" in every
    assert "AI for the military" in every  # the list, not filtered, as the notice says
    unclosed = html_of(client, "/hits?q=%22the+army")
    assert "The last &#34; is not closed" in unclosed or "The last &quot; is not closed" in unclosed
    assert "AI, the army and NATO" in unclosed
    assert "OR: searched as words" in html_of(client, "/hits?q=army+OR+summit")
    assert "-word does not exclude" in html_of(client, "/hits?q=NATO+-summit")
    assert "A * counts only at the end" in html_of(client, "/hits?q=mil%2Atary")
    plain = html_of(client, "/hits?q=army+%22the+army%22+mili%2A")
    assert 'class="notice"' not in plain
    assert search_notes("", 0) == [] and search_notes("army", 1) == []
    assert len(search_notes("a OR b", len(search_terms("a OR b")))) == 1


def test_refused_filters_keep_the_form_and_name_the_value(served: Served) -> None:
    client = served.client
    for path, message in (
        ("/hits?topic=nope&q=army", "topic: no topic named &#39;nope&#39;"),
        ("/hits?since=2026-13-01&q=army", "since: not a date like 2026-11-30"),
        ("/hits?page=abc&q=army", "page: not a page number from 1 to 10,000"),
    ):
        html = html_of(client, path, 400)
        assert f'<p class="notice bad" role="alert">{message}' in html, path
        assert '<form class="filters"' in html and 'value="army"' in html  # the rest kept
        assert "Nothing listed." in html and 'class="headline"' not in html
    empty = html_of(client, "/hits?since=2026-12-01&until=2026-11-01")
    assert "From 2026-12-01 to 2026-11-01: the range is empty" in empty
    past = html_of(client, "/hits?page=7")
    assert "There is no page 7: this is the last page, 1." in past


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_chart_counts_articles_not_topic_pairs(served: Served) -> None:
    engine = served.engine
    _, per_topic = daily_hits(engine, 30)
    assert sum(sum(values) for values in per_topic.values()) == 4  # article 2 counted twice
    daily = daily_articles(engine, 30)
    assert daily.totals[-1] == 3  # three tagged articles today, each once
    assert daily.single["ai-military"][-1] == 1 and daily.single["nato"][-1] == 1
    assert daily.single[None][-1] == 1  # the one with both topics
    html = html_of(served.client, "/dashboard")
    day = re.search(r'<g class="day" data-total="(\d+)"><title>([^<]*)</title>(.*?)</g>', html)
    assert day, html
    assert day.group(1) == "3" and day.group(2).endswith(": 3 hits (ai-military 2, nato 2)")
    assert day.group(3).count("<rect ") == 3  # one segment per topic alone, one for both
    assert "3 hits, each article counted once" in html
    assert 'several topics <span class="muted">1</span>' in html
    # Source names link to their hits, which the hits page filters by.
    assert '<a href="/hits?source=wire" title="The hits of wire"><strong>wire</strong></a>' in html
    assert "Sourdough" not in html_of(served.client, "/hits?source=wire")


# --- article navigation -----------------------------------------------------------------------


def test_untagged_article_opened_directly_follows_every_article(served: Served) -> None:
    client, ids = served.client, served.ids
    html = html_of(client, f"/articles/{ids[3]}").replace("&amp;", "&")
    assert "Not in the hits list: Previous and Next include untagged articles." in html
    assert f'<a class="step" href="/articles/{ids[2]}?topic=*" data-key="k"' in html.replace(
        "%2A", "*"
    )
    assert '<span class="step off" aria-disabled="true" title="The last of the list">Next' in html
    # A hit keeps the list it was opened from, and Next is a link.
    hit = html_of(client, f"/articles/{ids[1]}")
    assert "Not in the hits list" not in hit
    assert f'<a class="step" href="/articles/{ids[2]}" data-key="j" rel="next">Next' in hit
    # From "every article": the sourdough is reached, and back.
    first = html_of(client, f"/articles/{ids[2]}?topic=*").replace("%2A", "*")
    assert f'href="/articles/{ids[3]}?topic=*" data-key="j"' in first
    # A copy, hidden from the list under its original, follows the list with copies.
    with served.engine.begin() as connection:
        connection.execute(
            update(articles).where(articles.c.id == ids[2]).values(duplicate_of=ids[1])
        )
    copy = html_of(client, f"/articles/{ids[2]}").replace("&amp;", "&")
    assert "Previous and Next include copies." in copy
    assert f'<a class="step" href="/articles/{ids[1]}?copies=1" data-key="k"' in copy


# --- the request log of `newsmon serve` -------------------------------------------------------


def test_request_log_writes_one_line_per_request(served: Served) -> None:
    lines: list[str] = []
    client = Client(RequestLog(served.app.wsgi_app, lines.append))
    client.get("/hits?topic=nato")
    client.get("/nowhere")
    body = client.get("/hits.csv")  # a streamed download: logged once its body is read
    assert body.get_data()
    client.get("/hits?token=s3cret-s3cret-s3cret&q=a%0Ab")
    assert len(lines) == 4, lines
    assert re.fullmatch(r"GET /hits\?topic=nato 200 \d+ ms", lines[0]), lines[0]
    assert re.fullmatch(r"GET /nowhere 404 \d+ ms", lines[1]), lines[1]
    assert re.fullmatch(r"GET /hits\.csv 200 \d+ ms", lines[2]), lines[2]
    assert "s3cret" not in lines[3] and "token=…" in lines[3]
    assert "\n" not in lines[3]
    assert request_line("GET", "/a\x1b[31m", "", "200 OK", 0.0123) == "GET /a\\x1b[31m 200 12 ms"
