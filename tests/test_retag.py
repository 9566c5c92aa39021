"""`newsmon retag`: the archive follows topics.yaml, with a report of what changed, and the
scheduler re-tags by itself when topics.yaml changes."""

from __future__ import annotations

import json

from tests.config_files import yaml_text
from tests.conftest import run_cli
from tests.outlets import TOPICS, page, rss2


def exported(config) -> dict[str, dict]:
    result = run_cli("export", "--config", str(config), "--format", "jsonl")
    return {json.loads(line)["title"][:12]: json.loads(line) for line in result.stdout.splitlines()}


def test_retag_reports_and_applies(site, make_config) -> None:
    german = site.add("/de", page("de_bundeswehr_ki.html"), content_type="text/html")
    links = [
        ("en", site.add("/en", page("en_pentagon_ai.html"))),
        ("fr", site.add("/fr", page("fr_meta_llama.html"))),
        ("de", german),
    ]
    site.add("/feed.xml", rss2(links))
    config = make_config([{"name": "wire", "url": site.url("/feed.xml")}], TOPICS)
    assert run_cli("crawl", "--config", str(config)).returncode == 0
    before = exported(config)
    assert before["Pentagon exp"]["topics"] == ["ai-military", "nato"]

    # Sharpen the topics: drop "nato", add "llama", narrow ai-military to English terms.
    topics = [
        {"name": "ai-military", "all": [["artificial intelligence"], ["military"]], "near": 15},
        {"name": "llama", "any": ["Llama"]},
    ]
    (config / "topics.yaml").write_text(yaml_text({"topics": topics}))
    dry = run_cli("retag", "--dry-run", "--config", str(config))
    assert dry.returncode == 0, dry.stderr
    assert "3 articles re-tagged (dry run: nothing written)" in dry.stdout
    assert "ai-military: would change: +0 gained, -2 lost" in dry.stdout
    assert "llama: would change: +1 gained, -0 lost" in dry.stdout
    assert "nato: would change: +0 gained, -1 lost" in dry.stdout
    assert "- " in dry.stdout and "Meta ouvre" in dry.stdout  # examples
    assert exported(config) == before  # nothing written

    only = run_cli("retag", "--topic", "llama", "--config", str(config))
    assert "llama: changed: +1 gained" in only.stdout and "nato" not in only.stdout
    after_only = exported(config)
    assert after_only["Meta ouvre l"]["topics"] == ["ai-military", "llama"]  # others untouched

    full = run_cli("retag", "--config", str(config))
    assert full.returncode == 0, full.stderr
    after = exported(config)
    assert after["Pentagon exp"]["topics"] == ["ai-military"]
    assert after["Pentagon exp"]["matches"]["ai-military"] == [
        "artificial intelligence",
        "military",
    ]
    assert after["Meta ouvre l"]["topics"] == ["llama"]
    assert after["Bundeswehr t"]["topics"] == []
    again = run_cli("retag", "--config", str(config))
    # Idempotent: every topic is reported unchanged (not "+0 gained, -0 lost").
    lines = again.stdout.splitlines()
    assert len(lines) > 1 and all(line.endswith(": unchanged") for line in lines[1:]), lines


def test_parallel_retag_matches_in_process(tmp_path) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from crawler.match.terms import TopicRule
    from crawler.store.database import engine_for
    from crawler.store.retag import BATCH, retag
    from crawler.store.schema import article_topics, articles

    texts = [
        "The Pentagon and artificial intelligence in military planning, said NATO.",
        "Meta ouvre ses IA pour un usage militaire et la sécurité nationale.",
        "A recipe for sourdough bread with flour and water.",
    ]
    rules = [
        TopicRule(
            "ai-military",
            all=(("artificial intelligence", "IA"), ("military", "usage militaire")),
            near=15,
        ),
        TopicRule("nato", any=("NATO",)),
    ]
    tagged = {}
    for workers in (1, 2):
        engine = engine_for(f"sqlite:///{tmp_path}/retag-{workers}.db")
        now = datetime.now(UTC)
        rows = [
            {
                "url": f"https://e.org/{n}",
                "fingerprint": f"{n:064x}",
                "source": "s",
                "title": None,
                "text": texts[n % 3],
                "fetched_at": now,
            }
            for n in range(2 * BATCH + 7)
        ]
        with engine.begin() as connection:
            connection.execute(insert(articles), rows)
        report = retag(engine, rules, workers=workers)
        assert report.articles == len(rows)
        with engine.connect() as connection:
            tagged[workers] = sorted(connection.execute(select(article_topics)).all())
        engine.dispose()
    assert tagged[1] == tagged[2]
    count = 2 * BATCH + 7
    first, second = len(range(0, count, 3)), len(range(1, count, 3))
    assert len(tagged[1]) == 2 * first + second  # ai-military + nato, ai-military, nothing
