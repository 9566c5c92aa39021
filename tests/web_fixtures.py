"""Stores for the `newsmon serve` tests and screenshots: a real crawl of fixture outlets, a
hostile article inserted through the store pipeline's own write path, synthetic hits spread
over weeks, and the app served over real HTTP on 127.0.0.1 in a thread.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine
from werkzeug.serving import WSGIRequestHandler, make_server

from crawler.items import Article
from crawler.match.terms import TopicRule
from pipelines.store import insert_article
from tests.conftest import TEST_SETTINGS, run_cli, write_config
from tests.outlets import TOPICS, page, rss2
from tests.sites import Site

XSS_TITLE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
XSS_URL = "javascript:alert(3)//example.org/x"
XSS_SEEN = "data:text/html,<script>alert(4)</script>"


@dataclass
class Crawled:
    config: Path
    database: str
    site: Site


def crawl_fixture_outlets(
    directory: Path, database: str, site: Site, topics: Sequence[TopicRule] | None = None
) -> Crawled:
    """One real `newsmon crawl` of an outlet serving the English Pentagon article, the French
    Meta article (with "Llama"), the German Bundeswehr article and an off-beat page; tagged
    by the topics of tests/outlets.py unless others are given."""
    pages = {
        "/en/pentagon-ai": page("en_pentagon_ai.html"),
        "/fr/meta-llama": page("fr_meta_llama.html"),
        "/de/bundeswehr-ki": page("de_bundeswehr_ki.html"),
        "/bread": page("offbeat_sidebar.html"),
    }
    # The German page is ISO-8859-1 and says so in its <meta>, not in its Content-Type.
    links = [(path, site.add(path, body, content_type="text/html")) for path, body in pages.items()]
    site.add("/feed.xml", rss2(links), content_type="application/rss+xml")
    sources = [
        {"name": "wire", "url": site.url("/feed.xml")},
        {"name": "dead", "url": site.url("/nothing.xml")},
    ]
    rules = (
        TOPICS
        if topics is None
        else [
            {
                ("except" if key == "exceptions" else key): value  # as topics.yaml names it
                for key, value in asdict(rule).items()
                if value not in ((), None, "")
            }
            for rule in topics
        ]
    )
    config = write_config(
        directory / "config", {"database": database, **TEST_SETTINGS}, sources, rules
    )
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 0, result.stderr
    return Crawled(config, database, site)


def synthetic(
    n: int,
    title: str,
    text: str,
    matches: dict[str, list[str]],
    source: str = "wire",
    language: str = "en",
    when: datetime | None = None,
    url: str | None = None,
    seen: list[str] | None = None,
) -> Article:
    """An article as the pipelines leave it for the store stage."""
    when = when or datetime.now(UTC)
    return Article(
        source=source,
        url=url or f"https://news.example.org/{source}/{n}",
        title=title,
        text=text,
        language=language,
        published=when,
        fetched_at=when,
        matches=matches,
        fingerprint=hashlib.sha256(f"{n}:{title}:{text}".encode()).hexdigest(),
        seen_urls=seen or [],
        extractor="synthetic",
    )


def store_items(engine: Engine, *items: Article) -> list[int]:
    """Through the store pipeline's own write path: one transaction per article."""
    ids = []
    for item in items:
        with engine.begin() as connection:
            ids.append(insert_article(connection, item, keep_html=False))
    return ids


def insert_hostile(engine: Engine) -> int:
    """An on-topic article whose title, text and URLs attack the page that shows them."""
    item = synthetic(
        0,
        XSS_TITLE,
        "The AI system gives military planners <b>bold</b> <script>alert(5)</script> advice.\n"
        '"><svg onload=alert(6)> javascript:alert(7)',
        {"ai-military": ["AI", "military"]},
        source="hostile-outlet",
        url=XSS_URL,
        seen=[XSS_SEEN],
        when=datetime.now(UTC) - timedelta(hours=1),
    )
    return store_items(engine, item)[0]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object) -> None:
        pass


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app on a free port of 127.0.0.1, in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
