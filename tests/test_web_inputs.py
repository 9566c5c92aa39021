"""`newsmon serve` answers every input without a 500, on SQLite and PostgreSQL: page numbers,
ids and dates out of range, names that name nothing, hostile redirect targets and Host
headers get a 404 or a 400 page saying what was wrong (or a visible notice), never a silent
fallback. Also the dashboard's "Poll now" button. The checks themselves:
crawler.review.web.inputs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from crawler.config.files import load_config
from crawler.review.web import create_app
from crawler.review.web.inputs import BadInput, day, page_number, same_site_path
from crawler.store.database import engine_for
from crawler.store.schema import sources
from tests.outlets import TOPICS
from tests.web_fixtures import store_items, synthetic

MATCHES = {"ai-military": ["AI", "military"]}


@dataclass
class Served:
    app: Flask
    client: FlaskClient
    engine: Engine
    ids: list[int]


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, make_config, tmp_path: Path) -> Iterator[Served]:
    database = (
        f"sqlite:///{tmp_path / 'newsmon.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    config = load_config(
        make_config(
            [
                {"name": "wire", "url": "https://wire.example/feed"},
                {"name": "quiet", "url": "https://quiet.example/feed"},
                {"name": "off", "url": "https://off.example/feed", "enabled": False},
            ],
            TOPICS,
            database=database,
        )
    )
    engine = engine_for(database)
    ids = store_items(
        engine,
        *(
            synthetic(n, f"AI and the military {n}", "AI for the military.", MATCHES)
            for n in range(1, 4)
        ),
    )
    app = create_app(engine, config)
    yield Served(app, app.test_client(), engine, ids)
    engine.dispose()


def csrf(client: FlaskClient, path: str = "/hits") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found, "no CSRF token in the page"
    return found.group(1)


def refused(client: FlaskClient, path: str, message: str, status: int = 400) -> None:
    response = client.get(path)
    body = response.get_data(as_text=True)
    assert response.status_code == status, (path, response.status_code, body[:300])
    assert message in body, (path, body)


# --- numbers --------------------------------------------------------------------------------


def test_page_numbers_out_of_range_are_400(served: Served) -> None:
    """`page=9223372036854775807` and `page=99999999999999999999999` were a 500 on both."""
    for page in (
        "9223372036854775807",
        "99999999999999999999999",
        "0",
        "-1",
        "abc",
        "1.5",
        "10001",
        "٣",
        "1e3",
    ):
        refused(served.client, f"/hits?page={page}", "page: not a page number from 1 to 10,000")
    assert served.client.get("/hits?page=1").status_code == 200
    # Past the last page: the last page, with a notice that says so.
    past = served.client.get("/hits?page=99")
    html = past.get_data(as_text=True)
    assert past.status_code == 200 and "There is no page 99: this is the last page, 1." in html
    assert "AI and the military 1" in html


def test_huge_article_ids_are_404(served: Served) -> None:
    """`/articles/9223372036854775808` (SQLite) and ids from 99999999999 (PostgreSQL's 32-bit
    key) were a 500, also when reviewed."""
    token = csrf(served.client)
    for article_id in (
        "9223372036854775808",
        "99999999999",
        "2147483648",
        "99999999999999999999999999",
    ):
        refused(served.client, f"/articles/{article_id}", "Nothing here.", 404)
        review = served.client.post(
            f"/articles/{article_id}/review", data={"csrf_token": token, "action": "star"}
        )
        assert review.status_code == 404, article_id
    assert served.client.get(f"/articles/{served.ids[0]}").status_code == 200


def test_bad_and_out_of_range_dates_are_400(served: Served) -> None:
    """`/hits?until=9999-12-31` raised OverflowError; a bad date was silently ignored."""
    article = served.ids[0]
    for path in ("/hits", "/hits.csv", "/hits.jsonl", f"/articles/{article}"):
        refused(served.client, f"{path}?until=9999-12-31", "until: dates run from 1900-01-01")
        refused(served.client, f"{path}?since=0001-01-01", "since: dates run from 1900-01-01")
        refused(served.client, f"{path}?since=2024-13-01", "since: not a date like 2026-11-30")
        refused(served.client, f"{path}?until=yesterday", "until: not a date like 2026-11-30")
    assert served.client.get("/hits?since=2000-01-01&until=2999-12-31").status_code == 200


# --- names and menu choices -----------------------------------------------------------------


def test_unknown_names_and_choices_are_400(served: Served) -> None:
    client = served.client
    refused(client, "/hits?topic=nope", "topic: no topic named &#39;nope&#39;")
    refused(client, "/hits?source=nobody", "source: no source named &#39;nobody&#39;")
    refused(client, "/hits?sort=oldest", "sort: &#39;oldest&#39; is not one of published, fetched")
    refused(client, "/hits?review=maybe", "review: &#39;maybe&#39; is not one of unreviewed")
    refused(client, "/hits?copies=yes", "copies: &#39;yes&#39; is not one of 0, 1")
    refused(client, "/hits?language=%3Cscript%3E", "language: not a language code like fr")
    refused(client, "/hits?q=" + "a" * 501, "q: a search has at most 500 characters")
    refused(client, "/hits.csv?topic=nope", "topic: no topic named")
    refused(client, "/dashboard?days=7", "days: &#39;7&#39; is not one of 30, 90")
    # NUL breaks PostgreSQL's text: refused before any query.
    refused(client, "/hits?source=%00", "source: control characters are not allowed")
    refused(client, "/hits?topic=a%00b", "topic: control characters are not allowed")
    refused(client, "/feeds/a%00b.atom", "topic: control characters are not allowed")
    refused(client, "/feeds/nope.atom", "Nothing here.", 404)
    # What exists is accepted: configured sources without articles, stored topics, choices.
    for fine in (
        "source=quiet",
        "source=wire",
        "topic=nato",
        "topic=*",
        "sort=fetched",
        "review=starred",
        "copies=1",
        "language=fr",
        "days=90",
        "q=" + "a" * 500,
    ):
        path = "/dashboard?" if fine.startswith("days") else "/hits?"
        assert client.get(path + fine).status_code == 200, fine


def test_review_form_values_are_checked(served: Served) -> None:
    client, article = served.client, served.ids[0]
    token = csrf(client)
    for form, message in (
        ({"action": "delete"}, "action: &#39;delete&#39; is not one of relevant"),
        ({"action": "note", "note": "a\x00b"}, "note: control characters are not allowed"),
        ({"action": "relevant", "go": "away"}, "go: &#39;away&#39; is not one of next"),
    ):
        response = client.post(f"/articles/{article}/review", data={"csrf_token": token, **form})
        assert response.status_code == 400 and message in response.get_data(as_text=True), form
    bad_filter = client.post(
        f"/articles/{article}/review?until=9999-12-31", data={"csrf_token": token, "action": "star"}
    )
    assert bad_filter.status_code == 400
    note = client.post(
        f"/articles/{article}/review",
        data={"csrf_token": token, "action": "note", "note": "line\n\tindented"},
    )
    assert note.status_code == 302


# --- redirects and Host -------------------------------------------------------------------


def test_back_accepts_only_same_site_paths(served: Served) -> None:
    """A `back` holding a newline was a 500; `/\\t/evil.example/` redirected off the site."""
    client, article = served.client, served.ids[0]
    token = csrf(client)

    def back_to(back: str) -> str:
        response = client.post(
            f"/articles/{article}/review",
            data={"csrf_token": token, "action": "star", "back": back},
        )
        assert response.status_code == 302, (back, response.status_code)
        return response.headers["Location"]

    for hostile in (
        "\n",
        "/\n",
        "/\t/evil.example/",
        "/%09/evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/%5Cevil.example/",
        "/%2F/evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        "/x\r\nSet-Cookie: a=b",
        "/%0d%0aSet-Cookie:%20a=b",
        " /hits",
        "/\u200b/evil.example",
    ):
        assert back_to(hostile) == f"/articles/{article}", hostile
    for fine in ("/hits?q=Llama", "/hits?q=usage%20militaire&topic=nato", "/dashboard"):
        assert back_to(fine) == fine


def test_host_check_accepts_ipv6_loopback_with_a_port(served: Served) -> None:
    """`Host: [::1]:port` was refused although `[::1]` is allowed."""
    for bound in ("127.0.0.1", "::1"):
        client = create_app(served.engine, host=bound).test_client()
        for host in ("[::1]:8000", "[::1]", "127.0.0.1:8000", "localhost:8000", "LOCALHOST"):
            assert client.get("/hits", headers={"Host": host}).status_code == 200, (bound, host)
        for host in (
            "evil.example",
            "evil.example:8000",
            "[::2]:8000",
            "[::1]:99999",
            "[::1",
            "127.0.0.1.evil.example",
        ):
            response = client.get("/hits", headers={"Host": host})
            assert response.status_code == 400, (bound, host)
            assert "answers only to its own address" in response.get_data(as_text=True)


# --- poll now ---------------------------------------------------------------------------


def test_poll_now_button(served: Served) -> None:
    client = served.client
    html = client.get("/dashboard").get_data(as_text=True)
    assert html.count(">Poll now</button>") == 2  # wire and quiet; `off` is disabled
    assert 'action="/sources/off/poll"' not in html
    token = csrf(client, "/dashboard")
    done = client.post("/sources/quiet/poll", data={"csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"] == "/dashboard"
    after = client.get("/dashboard").get_data(as_text=True)
    assert "Poll requested for quiet: a running `newsmon run` polls it within seconds" in after
    assert after.count(">Poll now</button>") == 1 and ">requested</span>" in after
    with served.engine.connect() as connection:
        requested = (
            connection.execute(
                select(sources.c.name).where(sources.c.poll_requested_at.is_not(None))
            )
            .scalars()
            .all()
        )
    assert requested == ["quiet"]
    assert client.post("/sources/quiet/poll").status_code == 400  # no CSRF token
    assert client.post("/sources/nobody/poll", data={"csrf_token": token}).status_code == 404
    disabled = client.post("/sources/off/poll", data={"csrf_token": token})
    assert disabled.status_code == 400 and "off is disabled" in disabled.get_data(as_text=True)
    assert client.get("/sources/quiet/poll").status_code == 405


# --- the checks, directly ---------------------------------------------------------------


def test_input_checks() -> None:
    assert page_number(None) == page_number("") == 1 and page_number(" 7 ") == 7
    with pytest.raises(BadInput):
        page_number("9" * 30)
    assert day("since", "2026-11-30") is not None and day("since", "") is None
    with pytest.raises(BadInput, match="dates run"):
        day("until", "9999-12-31")
    assert same_site_path("/hits?q=a") == "/hits?q=a"
    assert same_site_path(None) is None and same_site_path("") is None
    assert same_site_path("hits") is None  # relative: not a path of ours
