"""`newsmon serve` over HTTP: every page, filter, action and feed, on a store filled by a real
crawl of fixture outlets plus a hostile article; CSRF, CSP, token and escaping; SQLite and
PostgreSQL. The `serve` and `review` commands."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click
import feedparser
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from markupsafe import Markup
from sqlalchemy import Engine, insert, select, update

from crawler.cli.main import cli
from crawler.cli.review import open_url, serve
from crawler.config.files import load_config
from crawler.match.terms import Matcher, TopicRule, term_spans
from crawler.review.web import create_app
from crawler.review.web.highlight import highlight, marked, paragraphs, safe_href
from crawler.store import search
from crawler.store.crawl_state import CrawlState
from crawler.store.database import engine_for
from crawler.store.queries import FIELDS, iter_records
from crawler.store.retag import retag
from crawler.store.reviews import review_marks, set_review, topic_quality
from crawler.store.schema import articles, reviews, sources
from crawler.store.search import ALL_ARTICLES, HitFilter, neighbors, page_of_hits, search_terms
from tests.conftest import REPO
from tests.outlets import free_port
from tests.sites import Site
from tests.web_fixtures import (
    XSS_SEEN,
    XSS_TITLE,
    XSS_URL,
    Crawled,
    crawl_fixture_outlets,
    insert_hostile,
    store_items,
    synthetic,
)

META = "Meta ouvre l'accès de ses IA open source aux États-Unis pour un usage militaire"
PENTAGON = "Pentagon expands use of artificial intelligence in military planning"


@pytest.fixture
def store(crawled_outlets: Crawled, tmp_path: Path) -> tuple[Engine, int]:
    """A private copy of the crawled store, plus the hostile article (its id)."""
    source = Path(crawled_outlets.database.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", tmp_path / f"newsmon.db{suffix}")
    engine = engine_for(f"sqlite:///{tmp_path / 'newsmon.db'}")
    return engine, insert_hostile(engine)


@pytest.fixture
def client(store: tuple[Engine, int], crawled_outlets: Crawled) -> FlaskClient:
    app = create_app(store[0], load_config(crawled_outlets.config))
    return app.test_client()


def article_id(engine: Engine, title_start: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(articles.c.id).where(articles.c.title.startswith(title_start))
        ).scalar_one()


def csrf(client: FlaskClient, path: str = "/hits") -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def post_review(client: FlaskClient, article: int, query: str = "", **form: str):
    return client.post(f"/articles/{article}/review{query}", data=form)


def titles(html: str) -> list[str]:
    return re.findall(r'class="headline" href="[^"]*">([^<]*)</a>', html)


# --- hits: listing, filters, search, pages ----------------------------------------------


def test_hits_page_lists_tagged_articles(client: FlaskClient, store: tuple[Engine, int]) -> None:
    html = page(client, "/hits")
    listed = titles(html)
    assert META.replace("'", "&#39;") in listed and PENTAGON in listed
    assert not any("sourdough" in t.lower() for t in listed)  # untagged: not a hit
    assert "4 hits" in html.replace("<strong>", "").replace("</strong>", "")
    assert "IA · usage militaire" in html  # matched terms
    assert '<span class="tag">nato</span>' in html and ">wire</td>" in html
    assert client.get("/").status_code == 302
    # Every article, tagged or not, on request.
    assert any("sourdough" in t.lower() for t in titles(page(client, "/hits?topic=*")))


def test_copies_are_counted_and_listed(client: FlaskClient, store: tuple[Engine, int]) -> None:
    engine, hostile = store
    meta = article_id(engine, "Meta")
    with engine.begin() as connection:  # as the dedup stage marks a near copy
        connection.execute(
            update(articles).where(articles.c.id == hostile).values(duplicate_of=meta)
        )
    html = page(client, "/hits")
    assert 'title="1 near copies stored">1</span>' in html
    # The copy is shown under its original (its article page), not as a hit of its own...
    assert f'title="A copy of article {meta}">copy</span>' not in html
    # ...unless asked for.
    every = page(client, "/hits?copies=1&topic=*")
    assert f'title="A copy of article {meta}">copy</span>' in every
    original = page(client, f"/articles/{meta}")
    assert "Copies (1)" in original and f'href="/articles/{hostile}"' in original
    copy = page(client, f"/articles/{hostile}")
    assert "Copy of" in copy and f'href="/articles/{meta}">Meta ouvre' in copy


def test_hits_filters(client: FlaskClient, store: tuple[Engine, int]) -> None:
    def listed(query: str) -> set[str]:
        return {t.split()[0] for t in titles(page(client, "/hits?" + query))}

    assert listed("topic=nato") == {"Pentagon"}
    assert listed("language=fr") == {"Meta"}
    assert listed("language=de") == {"Bundeswehr"}
    assert listed("source=wire") == {"Meta", "Pentagon", "Bundeswehr"}
    assert listed("source=dead") == set()  # configured, nothing stored yet: no hits
    assert client.get("/hits?source=nobody").status_code == 400  # names nothing: said so
    # Dates filter the sort date: the fixture pages were published in November 2024.
    assert listed("since=2024-11-01&until=2024-11-30") == {"Meta", "Pentagon", "Bundeswehr"}
    assert listed("until=2024-11-01") == set()
    assert len(listed("sort=fetched&since=2020-01-01")) == 4  # everything was fetched today
    refused = client.get("/hits?since=not-a-date")  # a bad date is an error, not ignored
    assert refused.status_code == 400 and "since: not a date" in refused.get_data(as_text=True)
    engine, _ = store
    set_review(engine, article_id(engine, "Meta"), "relevant")
    set_review(engine, article_id(engine, "Pentagon"), "irrelevant")
    set_review(engine, article_id(engine, "Bundeswehr"), "star")
    assert listed("review=relevant") == {"Meta"}
    assert listed("review=irrelevant") == {"Pentagon"}
    assert listed("review=starred") == {"Bundeswehr"}
    unreviewed = listed("review=unreviewed")  # starring is not a verdict
    assert len(unreviewed) == 2 and "Bundeswehr" in unreviewed


def test_sort_orders_and_pages(store: tuple[Engine, int]) -> None:
    engine, hostile = store
    by_published = page_of_hits(engine, HitFilter())
    assert by_published.records[0]["id"] == hostile  # published an hour ago: the newest
    dates = [r["published"] for r in by_published.records]
    assert dates == sorted(dates, reverse=True)
    by_fetched = page_of_hits(engine, HitFilter(sort="fetched"))
    fetched = [r["fetched_at"] for r in by_fetched.records]
    assert fetched == sorted(fetched, reverse=True)
    first, second = (page_of_hits(engine, HitFilter(), n, per_page=3) for n in (1, 2))
    assert (first.total, first.pages, second.page) == (4, 2, 2)
    assert len(first.records) == 3 and len(second.records) == 1
    assert {r["id"] for r in first.records}.isdisjoint(r["id"] for r in second.records)
    assert page_of_hits(engine, HitFilter(), 99, per_page=3).page == 2  # clamped


def test_counting_stops_at_the_count_limit(
    store: tuple[Engine, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond COUNT_LIMIT matches a page says "N+" and counts further only to reach a later
    page (4 hits here, counted up to 2)."""
    engine, _ = store
    monkeypatch.setattr(search, "COUNT_LIMIT", 2)
    pages = [page_of_hits(engine, HitFilter(), n, per_page=1) for n in (1, 3, 4)]
    assert [(p.total, p.more, p.pages, p.page) for p in pages] == [
        (2, True, 2, 1),
        (3, True, 3, 3),
        (4, False, 4, 4),
    ]
    assert len({p.records[0]["id"] for p in pages}) == 3


@pytest.mark.parametrize("q", ["the", "Llama", '"open source"', "milit*"])
def test_search_reads_many_and_few_matches_alike(
    store: tuple[Engine, int], monkeypatch: pytest.MonkeyPatch, q: str
) -> None:
    """A search matching more than DENSE articles asks the search index about each article
    in list order; one matching fewer reads the list of matches: the same pages."""
    engine, _ = store
    results = []
    for dense in (0, 10**9):
        monkeypatch.setattr(search, "DENSE", dense)
        found = page_of_hits(engine, HitFilter(q=q, topic=ALL_ARTICLES), per_page=2)
        later = page_of_hits(engine, HitFilter(q=q, topic=ALL_ARTICLES), 2, per_page=2)
        results.append(([r["id"] for r in found.records + later.records], found.total))
    assert results[0] == results[1]
    assert results[0][1] > 0  # something to compare


def test_search(client: FlaskClient) -> None:
    def found(q: str) -> list[str]:
        return [t.split()[0] for t in titles(page(client, "/hits?q=" + q))]

    assert found("Llama") == ["Meta"]
    assert found("llama") == ["Meta"]
    assert found("Llama+Pentagon") == []  # every word must appear
    assert found('"usage+militaire"') == ["Meta"]  # a phrase
    assert found('"militaire+usage"') == []
    assert found("Pentag*") == ["Meta", "Pentagon"]  # a prefix: Pentagone, Pentagon
    assert found("Lagebeurt*") == ["Bundeswehr"]
    assert found("securite+nationale") == ["Meta"] or found("securite") == ["Meta"]
    assert found("Llama&topic=nato") == []  # search and filters combine
    assert "Llama" in page(client, "/hits?q=Llama")  # the query stays in the box
    # Query syntax of FTS5 or tsquery in the input never reaches the database.
    for hostile in (
        '"',
        "*",
        "NEAR(a b)",
        "a OR",
        "-x",
        "a:b",
        "'); DROP TABLE articles;--",
        "title:Meta",
        "(((",
        "&|!<->",
        "\\",
    ):
        assert client.get("/hits", query_string={"q": hostile}).status_code == 200


def test_search_terms_parsing() -> None:
    assert search_terms('Llama "usage militaire" milit* l\'IA') == [
        (("Llama",), False),
        (("usage", "militaire"), False),
        (("milit",), True),
        (("l", "IA"), False),
    ]
    assert search_terms('" * () :') == []


# --- article page and navigation --------------------------------------------------------


def test_article_page(client: FlaskClient, store: tuple[Engine, int]) -> None:
    engine, _ = store
    meta = article_id(engine, "Meta")
    html = page(client, f"/articles/{meta}")
    assert "<mark>IA</mark>" in html and "<mark>usage militaire</mark>" in html
    assert 'href="http://127.0.0.1:' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "/fr/meta-llama" in html  # the feed link, another URL of the same article
    assert "Llama" in html
    assert client.get("/articles/999999").status_code == 404
    assert client.get("/articles/abc").status_code == 404


def test_article_neighbors_follow_the_filter(
    client: FlaskClient, store: tuple[Engine, int]
) -> None:
    engine, _ = store
    listed = [r["id"] for r in page_of_hits(engine, HitFilter()).records]
    assert neighbors(engine, HitFilter(), listed[0]) == (None, listed[1])
    assert neighbors(engine, HitFilter(), listed[1]) == (listed[0], listed[2])
    assert neighbors(engine, HitFilter(), listed[-1]) == (listed[-2], None)
    fetched = [r["id"] for r in page_of_hits(engine, HitFilter(sort="fetched")).records]
    assert neighbors(engine, HitFilter(sort="fetched"), fetched[1]) == (fetched[0], fetched[2])
    html = page(client, f"/articles/{listed[1]}?topic=ai-military")
    assert f'href="/articles/{listed[2]}?topic=ai-military"' in html.replace("&amp;", "&")
    # Undated articles end the list (nulls last) and are still reachable in order.
    with engine.begin() as connection:
        connection.execute(
            update(articles).where(articles.c.id == listed[0]).values(published=None)
        )
    order = [r["id"] for r in page_of_hits(engine, HitFilter()).records]
    assert order[-1] == listed[0]
    assert neighbors(engine, HitFilter(), listed[0]) == (order[-2], None)
    assert neighbors(engine, HitFilter(), order[-2]) == (order[-3], listed[0])


# --- review actions ---------------------------------------------------------------------


def test_review_actions_persist_and_show(client: FlaskClient, store: tuple[Engine, int]) -> None:
    engine, _ = store
    meta = article_id(engine, "Meta")
    token = csrf(client)
    response = client.post(
        f"/articles/{meta}/review",
        data={"csrf_token": token, "action": "relevant", "back": "/hits?q=Llama"},
    )
    assert response.status_code == 302 and response.location == "/hits?q=Llama"
    assert review_marks(engine, [meta]) == {meta: "relevant"}
    client.post(f"/articles/{meta}/review", data={"csrf_token": token, "action": "star"})
    client.post(
        f"/articles/{meta}/review",
        data={"csrf_token": token, "action": "note", "note": "  Llama for defence  "},
    )
    assert review_marks(engine, [meta]) == {meta: "relevant ★"}
    html = page(client, "/hits?q=Llama")
    assert 'class="hit relevant starred"' in html and "Llama for defence" in html
    assert 'aria-pressed="true" title="Relevant (r)"' in html
    article = page(client, f"/articles/{meta}")
    assert "Llama for defence</textarea>" in article
    # In exports (`review` field) and downloads.
    record = next(r for r in iter_records(engine) if r["id"] == meta)
    assert record["review"]["verdict"] == "relevant" and record["review"]["starred"] is True
    assert record["review"]["note"] == "Llama for defence"
    # A verdict with go=next moves on to the next article of the filter.
    listed = [r["id"] for r in page_of_hits(engine, HitFilter()).records]
    query = "?topic=ai-military"
    response = post_review(
        client, listed[0], query, csrf_token=token, action="irrelevant", go="next"
    )
    following = neighbors(engine, HitFilter(topic="ai-military"), listed[0])[1]
    assert response.location == f"/articles/{following}?topic=ai-military"
    # Starring is orthogonal to the verdict; clear takes the verdict back, keeps the star.
    client.post(f"/articles/{meta}/review", data={"csrf_token": token, "action": "clear"})
    assert review_marks(engine, [meta]) == {meta: "★"}
    json_reply = client.post(
        f"/articles/{meta}/review",
        headers={"Accept": "application/json"},
        data={"csrf_token": token, "action": "unstar"},
    )
    assert json_reply.json == {
        "id": meta,
        "verdict": None,
        "starred": False,
        "note": "Llama for defence",
        "mark": "",
    }
    # Unknown actions and articles; an off-site `back` is not followed.
    assert post_review(client, meta, csrf_token=token, action="delete").status_code == 400
    assert post_review(client, 999999, csrf_token=token, action="relevant").status_code == 404
    away = client.post(
        f"/articles/{meta}/review",
        data={"csrf_token": token, "action": "star", "back": "//evil.example/"},
    )
    assert away.location == f"/articles/{meta}"


def test_review_kept_when_retagged(store: tuple[Engine, int]) -> None:
    engine, _ = store
    meta = article_id(engine, "Meta")
    set_review(engine, meta, "relevant", note="keep me")
    # The topics change: the French article now matches `nato` alone, through "IA".
    retag(engine, [TopicRule("nato", any=("NATO", "IA"))])
    record = next(r for r in iter_records(engine) if r["id"] == meta)
    assert record["topics"] == ["nato"]
    assert record["review"]["verdict"] == "relevant" and record["review"]["note"] == "keep me"


def test_csrf_is_required(client: FlaskClient, store: tuple[Engine, int]) -> None:
    engine, _ = store
    meta = article_id(engine, "Meta")
    missing = client.post(f"/articles/{meta}/review", data={"action": "relevant"})
    assert missing.status_code == 400 and "Form expired" in missing.get_data(as_text=True)
    csrf(client)  # a session exists, and still a forged token fails
    forged = client.post(
        f"/articles/{meta}/review", data={"action": "relevant", "csrf_token": "x" * 40}
    )
    assert forged.status_code == 400
    # A token from another browser's session is useless in this one.
    other = create_app(engine).test_client()
    stolen = csrf(other)
    assert post_review(client, meta, action="relevant", csrf_token=stolen).status_code == 400
    assert review_marks(engine, [meta]) == {}
    assert client.get(f"/articles/{meta}/review").status_code == 405  # never by GET


# --- hostile content, headers, token ----------------------------------------------------


def test_scraped_content_is_escaped_and_links_are_http_only(
    client: FlaskClient, store: tuple[Engine, int]
) -> None:
    _, hostile = store
    for path in ("/hits", f"/articles/{hostile}", "/hits?q=military"):
        html = page(client, path)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "<svg onload" not in html and "<b>bold" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
        assert not re.search(r'(href|src)="\s*(javascript|data|vbscript):', html, re.I)
        assert all(src.startswith("/static/") for src in re.findall(r'<script src="([^"]+)"', html))
    article = page(client, f"/articles/{hostile}")
    assert XSS_URL in article  # shown as text...
    assert "Original ↗" not in article  # ...never as a link
    assert XSS_SEEN.replace("<", "&lt;").replace(">", "&gt;") in article
    assert "<mark>AI</mark>" in article and "<mark>military</mark>" in article


def test_security_headers(client: FlaskClient, store: tuple[Engine, int]) -> None:
    paths = [
        "/hits",
        f"/articles/{store[1]}",
        "/topics",
        "/dashboard",
        "/feeds/ai-military.atom",
        "/hits.csv",
        "/static/keys.js",
        "/nowhere",
    ]
    for path in paths:
        response = client.get(path)
        response.close()
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "style=" not in page(client, "/dashboard")  # the CSP forbids inline styles
    assert "<script>" not in page(client, "/dashboard")
    # Bound to loopback without a token: a foreign Host (DNS rebinding) is refused.
    assert client.get("/hits", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/hits", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    other_loopback = create_app(store[0], host="127.0.0.2").test_client()
    assert other_loopback.get("/hits", headers={"Host": "127.0.0.2:8000"}).status_code == 200
    with pytest.raises(ValueError, match="token"):
        create_app(store[0], host="0.0.0.0")


def test_token_is_required_on_every_request(store: tuple[Engine, int]) -> None:
    app = create_app(store[0], token="s3cret-token-for-tests", host="0.0.0.0")
    client = app.test_client()
    for path in ("/hits", "/feeds/ai-military.atom", "/static/style.css", "/hits.csv"):
        denied = client.get(path)
        assert denied.status_code == 401 and "s3cret" not in denied.get_data(as_text=True)
    assert client.get("/hits", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/hits?token=wrong").status_code == 401
    bearer = {"Authorization": "Bearer s3cret-token-for-tests"}
    assert client.get("/hits", headers=bearer).status_code == 200
    assert client.get("/hits", headers={"Host": "newsmon.lan"}).status_code == 401
    first = client.get("/feeds/ai-military.atom?token=s3cret-token-for-tests")
    assert first.status_code == 200 and "HttpOnly" in first.headers["Set-Cookie"]
    assert client.get("/hits").status_code == 200  # the browser's cookie now carries it
    assert client.post(f"/articles/{store[1]}/review", data={"action": "star"}).status_code == 400


# --- feeds, downloads, topic quality, dashboard -----------------------------------------


def test_atom_feed(client: FlaskClient, store: tuple[Engine, int]) -> None:
    engine, hostile = store
    meta = article_id(engine, "Meta")
    set_review(engine, meta, "relevant")
    response = client.get("/feeds/ai-military.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10" and feed.feed.title == "newsmon: ai-military"
    entries = feed.entries
    assert len(entries) == 4
    updated = [entry.updated_parsed for entry in entries]
    assert updated == sorted(updated, reverse=True)  # newest first
    by_title = {entry.title: entry for entry in entries}
    assert XSS_TITLE in by_title  # hostile text travels as text
    assert "link" not in by_title[XSS_TITLE] or not by_title[XSS_TITLE].link.startswith("java")
    entry = by_title[META]
    assert entry.link.startswith("http://127.0.0.1:") and entry.id.startswith("urn:uuid:")
    assert {tag.term for tag in entry.tags} >= {"ai-military", "relevant"}
    assert "usage militaire" in entry.summary
    assert any(link.href.endswith(f"/articles/{meta}") for link in entry.links)
    # Articles judged irrelevant leave the feed; unknown topics are 404.
    set_review(engine, hostile, "irrelevant")
    assert len(feedparser.parse(client.get("/feeds/ai-military.atom").data).entries) == 3
    nato = feedparser.parse(client.get("/feeds/nato.atom").data)
    assert [e.title for e in nato.entries] == [PENTAGON]
    assert client.get("/feeds/nope.atom").status_code == 404


def test_downloads_have_the_export_fields(client: FlaskClient, store: tuple[Engine, int]) -> None:
    engine, _ = store
    set_review(engine, article_id(engine, "Meta"), "relevant", note="=cmd|' /C calc'!A0")
    jsonl = client.get("/hits.jsonl?q=Llama")
    assert jsonl.status_code == 200 and "attachment" in jsonl.headers["Content-Disposition"]
    records = [json.loads(line) for line in jsonl.get_data(as_text=True).splitlines()]
    assert len(records) == 1 and tuple(records[0]) == FIELDS
    assert records[0]["review"]["verdict"] == "relevant"
    every = [
        json.loads(line) for line in client.get("/hits.jsonl").get_data(as_text=True).splitlines()
    ]
    assert len(every) == 4
    rows = list(csv.DictReader(io.StringIO(client.get("/hits.csv").get_data(as_text=True))))
    assert len(rows) == 4 and tuple(rows[0]) == FIELDS
    meta_row = next(row for row in rows if row["title"].startswith("Meta"))
    assert json.loads(meta_row["review"])["note"].startswith("=cmd")
    assert next(row for row in rows if row["id"] == str(store[1]))["review"] == ""
    big = client.get("/hits.csv?topic=*")  # written in batches: one header only
    assert big.get_data(as_text=True).count("id,url,seen_urls") == 1


def test_download_batches_keep_one_header(
    store: tuple[Engine, int], crawled_outlets: Crawled
) -> None:
    engine, _ = store
    matches = {"ai-military": ["AI", "military"]}
    items = [
        synthetic(n, f"AI and the military {n}", "AI for the military.", matches)
        for n in range(1, 451)
    ]
    store_items(engine, *items)
    client = create_app(engine).test_client()
    text = client.get("/hits.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 454 and text.count("id,url,seen_urls") == 1
    lines = client.get("/hits.jsonl").get_data(as_text=True).splitlines()
    assert len(lines) == 454 and len({json.loads(line)["id"] for line in lines}) == 454


def test_topic_quality(client: FlaskClient, store: tuple[Engine, int]) -> None:
    engine, hostile = store
    set_review(engine, article_id(engine, "Meta"), "relevant")
    set_review(engine, article_id(engine, "Pentagon"), "relevant")
    set_review(engine, hostile, "irrelevant")
    set_review(engine, article_id(engine, "Bundeswehr"), "star")  # no verdict: not counted
    quality = {q.topic: q for q in topic_quality(engine, ["ai-military", "nato"])}
    military = quality["ai-military"]
    assert (military.hits, military.reviewed, military.relevant) == (4, 3, 2)
    assert military.precision == pytest.approx(2 / 3)
    assert military.terms[0].term == "AI" and military.terms[0].irrelevant == 1
    assert quality["nato"].precision == 1.0
    html = page(client, "/topics")
    assert "67%" in html and "100%" in html
    assert '<tr class="suspect"><td><mark>AI</mark></td><td class="num">1</td>' in html
    assert 'href="/feeds/ai-military.atom"' in html


def test_dashboard(client: FlaskClient, store: tuple[Engine, int]) -> None:
    engine, _ = store
    html = page(client, "/dashboard")
    assert '<svg class="chart"' in html and "<rect " in html
    assert "Hits per day over the last 30 days" in html
    assert re.search(r'href="/hits\?source=wire">wire</a>', html)
    # The source health table of the scheduler: the dead feed is flagged.
    assert "dead</strong>" in html and "FAILING" in html and "HTTP 404" in html
    assert "Hits per day over the last 90 days" in page(client, "/dashboard?days=90")
    # The distributed mode's worker of the last pass, escaped as any stored text.
    with engine.connect() as connection:
        url = connection.execute(select(sources.c.url).where(sources.c.name == "wire")).scalar()
    CrawlState(engine).save_schedule("wire", url, 600.0, datetime.now(UTC), None, "host-1:42<b>")
    assert "by host-1:42&lt;b&gt;</div>" in page(client, "/dashboard")
    # Empty stores render too.
    empty = create_app(engine_for("sqlite://")).test_client()
    for path in ("/hits", "/topics", "/dashboard", "/hits.csv"):
        assert empty.get(path).status_code == 200, path
    assert "No hits in these 30 days" in empty.get("/dashboard").get_data(as_text=True)


def test_highlight_follows_the_term_rules() -> None:
    text = "Said Taiwan: AI and ai. Künstliche Intelligenz, Militär; usage\nmilitaire, l'IA"
    terms = ["AI", "künstlich* Intelligenz", "militar*", "usage militaire", "IA"]
    spans = [text[a:b] for a, b in term_spans(text, terms)]
    assert spans == ["AI", "Künstliche Intelligenz", "Militär", "usage\nmilitaire", "IA"]
    assert str(highlight("<AI>", [(1, 3)])) == "&lt;<mark>AI</mark>&gt;"
    assert term_spans("anything", ["*bad"]) == []
    # The article page marks what `Matcher.match` counted: not a match an exception cancels,
    # and a span across lines in each paragraph.
    rule = TopicRule(
        "t", all=(("AI",), ("=defense", "usage militaire")), near=15, exceptions=("cyber defense",)
    )
    text = "AI cyber defense\n\nAI for defense, usage\nmilitaire"
    stored = {"t": ["AI", "=defense", "usage militaire"]}
    title, body = marked(Matcher([rule]), "AI <b>", text, stored)
    assert str(title) == "<mark>AI</mark> &lt;b&gt;"
    assert [str(p) for p in body] == [
        "<mark>AI</mark> cyber defense",
        "<mark>AI</mark> for <mark>defense</mark>, <mark>usage</mark>",
        "<mark>militaire</mark>",
    ]
    # A stored topic that topics.yaml no longer has: its stored terms are marked.
    _, old = marked(Matcher([rule]), None, "Killer robots", {"gone": ["killer robot*"]})
    assert [str(p) for p in old] == ["<mark>Killer robots</mark>"]
    assert paragraphs("a\u2028b", [(0, 3)]) == [Markup("<mark>a</mark>"), Markup("<mark>b</mark>")]
    assert safe_href("https://a.example/x") == "https://a.example/x"
    assert safe_href("HTTP://a.example") == "HTTP://a.example"
    for hostile in (
        "javascript:x",
        " data:text/html,x",
        "//a.example",
        "ftp://a.example",
        "",
        "http://[::1",
        "vbscript:x",
        "JaVaScRiPt:alert(1)",
    ):
        assert safe_href(hostile) is None, hostile


# --- commands ---------------------------------------------------------------------------


@pytest.fixture
def newsmon() -> click.Group:
    """The `newsmon` command group itself."""
    return cli


def test_review_command(
    newsmon: click.Group, store: tuple[Engine, int], crawled_outlets: Crawled, tmp_path: Path
) -> None:
    engine, _ = store
    config = tmp_path / "config"
    shutil.copytree(crawled_outlets.config, config)
    (config / "settings.yaml").write_text(f"database: {engine.url}\n")
    meta = article_id(engine, "Meta")
    runner = CliRunner()
    done = runner.invoke(
        newsmon, ["review", str(meta), "relevant", "--note", "Llama", "--config", str(config)]
    )
    assert done.exit_code == 0, done.output
    assert f"Article {meta}: relevant; note: Llama" in done.output
    runner.invoke(newsmon, ["review", str(meta), "star", "--config", str(config)])
    assert review_marks(engine, [meta, 999]) == {meta: "relevant ★"}
    missing = runner.invoke(newsmon, ["review", "999999", "star", "--config", str(config)])
    assert missing.exit_code == 2 and "no article with id 999999" in missing.output
    wrong = runner.invoke(newsmon, ["review", str(meta), "maybe", "--config", str(config)])
    assert wrong.exit_code == 2
    bad_config = runner.invoke(newsmon, ["review", "1", "star", "--config", str(tmp_path / "x")])
    assert bad_config.exit_code == 2 and "config directory not found" in bad_config.output


def test_serve_token_rules(
    newsmon: click.Group, crawled_outlets: Crawled, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --host 0.0.0.0 --token " "` started, and one-character tokens were accepted. A
    token has 16 characters or more, no space; without one, off loopback, one is drawn and
    printed in the URL to open (as Jupyter does)."""
    runner = CliRunner()
    config = ["--config", str(crawled_outlets.config)]
    for token, problem in (
        (" ", "at least 16 characters (this one has 1)"),
        ("x", "at least 16 characters"),
        ("correct horse battery", "cannot hold spaces"),
        ("0123456789abcde\x00", "control characters"),
    ):
        for host in ("0.0.0.0", "127.0.0.1"):
            result = runner.invoke(newsmon, ["serve", "--host", host, "--token", token, *config])
            assert result.exit_code == 2, result.output
            assert result.output.startswith("Error: --token: a token "), result.output
            assert problem in result.output and result.output.count("\n") == 1, result.output
    monkeypatch.setenv("NEWSMON_TOKEN", "short")
    from_env = runner.invoke(newsmon, ["serve", "--host", "0.0.0.0", *config])
    assert from_env.exit_code == 2 and "at least 16 characters" in from_env.output
    monkeypatch.delenv("NEWSMON_TOKEN")
    # No token off loopback: no longer refused; a token is drawn (192.0.2.1 is a documentation
    # address, not this machine's, so the server stops at listening, never reachable).
    drawn = runner.invoke(newsmon, ["serve", "--host", "192.0.2.1", "--port", "8123", *config])
    assert drawn.exit_code == 1 and "cannot listen on 192.0.2.1:8123" in drawn.output
    assert "--token" not in drawn.output
    token = "t" * 43
    assert open_url("0.0.0.0", 8000, token) == f"http://{socket.gethostname()}:8000/?token={token}"
    assert open_url("fd00::5", 80, token) == f"http://[fd00::5]:80/?token={token}"
    assert open_url("192.168.1.10", 80, token) == f"http://192.168.1.10:80/?token={token}"
    with pytest.raises(ValueError, match="16 characters"):
        create_app(engine_for("sqlite://"), token="x", host="0.0.0.0")


def test_serve_command_serves_over_http(
    store: tuple[Engine, int], crawled_outlets: Crawled, tmp_path: Path
) -> None:
    engine, _ = store
    config = tmp_path / "config"
    shutil.copytree(crawled_outlets.config, config)
    (config / "settings.yaml").write_text(f"database: {engine.url}\n")
    port = free_port()
    code = "import sys; from crawler.cli.review import serve; serve(sys.argv[1:])"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "--config", str(config), "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # One line per request, with its time (as Datasette logs them).
    logged = re.compile(r"\d\d:\d\d:\d\d GET /hits\?q=Llama 200 \d+ ms\n")
    stderr = ""
    try:
        html = _get_when_up(f"http://127.0.0.1:{port}/hits?q=Llama", process)
        assert META.replace("'", "&#39;") in html
        # The line is written once the response is sent: a signal sent at once could stop
        # the server before it writes it.
        stderr = _read_until(process, logged)
    finally:
        process.terminate()
        stderr += process.communicate(timeout=20)[1]
    assert f"serving http://127.0.0.1:{port}/" in stderr
    assert logged.search(stderr), stderr
    busy = Site()  # a port already taken: a clear error, exit 1
    try:
        port = int(busy.base.rsplit(":", 1)[1])
        taken = CliRunner().invoke(serve, ["--config", str(config), "--port", str(port)])
        assert taken.exit_code == 1 and f"cannot listen on 127.0.0.1:{port}" in taken.output
    finally:
        busy.close()


def _read_until(
    process: subprocess.Popen[str], pattern: re.Pattern[str], timeout: float = 30
) -> str:
    """What the process wrote to standard error until `pattern` appears in it, or it ended
    (stopped after `timeout` seconds)."""
    assert process.stderr is not None
    timer = threading.Timer(timeout, process.terminate)
    timer.start()
    read = ""
    try:
        for line in process.stderr:
            read += line
            if pattern.search(read):
                break
    finally:
        timer.cancel()
    return read


def _get_when_up(url: str, process: subprocess.Popen[str], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, process.communicate()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# --- PostgreSQL -------------------------------------------------------------------------


def test_web_on_postgresql(
    postgres_url: str, tmp_path: Path, site_factory: Callable[[], Site]
) -> None:
    crawled = crawl_fixture_outlets(tmp_path, postgres_url, site_factory())
    engine = engine_for(postgres_url)
    hostile = insert_hostile(engine)
    client = create_app(engine, load_config(crawled.config)).test_client()
    assert [t.split()[0] for t in titles(page(client, "/hits?q=Llama"))] == ["Meta"]
    assert [t.split()[0] for t in titles(page(client, '/hits?q="usage+militaire"'))] == ["Meta"]
    assert [t.split()[0] for t in titles(page(client, "/hits?q=Lagebeurt*"))] == ["Bundeswehr"]
    assert {t.split()[0] for t in titles(page(client, "/hits?language=de"))} == {"Bundeswehr"}
    for hostile_query in ('"', "a:b & c", "!(", "<->", "'); DROP TABLE articles;--"):
        assert client.get("/hits", query_string={"q": hostile_query}).status_code == 200
    meta = article_id(engine, "Meta")
    token = csrf(client)
    client.post(f"/articles/{meta}/review", data={"csrf_token": token, "action": "relevant"})
    client.post(f"/articles/{meta}/review", data={"csrf_token": token, "action": "star"})
    assert review_marks(engine, [meta]) == {meta: "relevant ★"}
    assert [t.split()[0] for t in titles(page(client, "/hits?review=relevant"))] == ["Meta"]
    assert len(titles(page(client, "/hits?review=unreviewed"))) == 3
    listed = [r["id"] for r in page_of_hits(engine, HitFilter()).records]
    assert listed[0] == hostile
    assert neighbors(engine, HitFilter(), listed[1]) == (listed[0], listed[2])
    feed = feedparser.parse(client.get("/feeds/ai-military.atom").data)
    assert not feed.bozo and META in [entry.title for entry in feed.entries]
    dashboard = page(client, "/dashboard")
    assert "<rect " in dashboard and "FAILING" in dashboard
    assert "100%" in page(client, "/topics")
    assert "&lt;script&gt;alert(1)" in page(client, f"/articles/{hostile}")
    rows = list(csv.DictReader(io.StringIO(client.get("/hits.csv?q=Llama").get_data(as_text=True))))
    assert len(rows) == 1 and json.loads(rows[0]["review"])["starred"] is True
    with engine.connect() as connection:  # the GIN index serves the search
        connection.exec_driver_sql("SET enable_seqscan = off")
        plan = connection.exec_driver_sql(
            "EXPLAIN SELECT id FROM articles WHERE search_vector @@ to_tsquery('simple', 'llama')"
        )
        assert "ix_articles_search_vector" in " ".join(row[0] for row in plan)
        plan = connection.exec_driver_sql(  # a page walks the index in list order, no sort
            "EXPLAIN SELECT id FROM articles ORDER BY published DESC NULLS LAST, id DESC LIMIT 50"
        )
        assert "ix_articles_published_listed" in " ".join(row[0] for row in plan)
    with engine.connect() as connection:
        assert connection.execute(select(reviews.c.verdict)).scalars().all() == ["relevant"]
    engine.dispose()


def test_empty_hits_say_what_to_do_next(tmp_path: Path) -> None:
    """An unfiltered empty list tells an empty store (run a crawl) from one whose articles
    matched no topic yet (the dashboard, `topics test`); a filtered one keeps its own line."""
    engine = engine_for(f"sqlite:///{tmp_path / 'empty.db'}")
    client = create_app(engine).test_client()
    empty = page(client, "/hits")
    assert "No article stored yet: run <code>newsmon crawl</code>" in empty
    with engine.begin() as connection:
        connection.execute(
            insert(articles).values(
                url="https://example.org/1",
                fingerprint="0" * 64,
                source="wire",
                title="Weather",
                text="Sunny.",
                fetched_at=datetime.now(UTC),
            )
        )
    untagged = page(client, "/hits")
    assert "No hits yet: 1 article(s) stored, none tagged with a topic." in untagged
    assert "newsmon topics test --url URL" in untagged
    filtered = page(client, "/hits?source=wire")
    assert "No hits match these filters." in filtered and "No hits yet" not in filtered
