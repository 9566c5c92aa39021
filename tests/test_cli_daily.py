"""The daily commands: `hits` with the web app's filters and order and a table that fits the
terminal, `--json` for scripts (hits, stories, sources list/status, topics test, crawl), and
the small messages of `retag` and `review`. The CLI in process (click's CliRunner) over a real
SQLite store filled with known articles."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import insert

from crawler.cli.base import cells, fit
from crawler.cli.main import cli, hits_table
from crawler.store.database import engine_for
from crawler.store.schema import article_topics, articles, reviews
from tests.test_cli_inputs import database_of

NOW = datetime.now(UTC)
# (title, source, language, published days ago, fetched days ago, topics, verdict)
ARTICLES = [
    ("Pentagon tests AI targeting", "wire", "en", 1, 1, ["ai-military"], "relevant"),
    ("L'armée teste une IA", "lemonde", "fr", 3, 0, ["ai-military"], None),
    ("Drone swarm exercise", "wire", "en", 2, 2, ["ai-military", "drones"], "irrelevant"),
    ("Weather next week", "wire", "en", 0, 0, [], None),
    ("Old story fetched long ago", "wire", "en", 30, 30, ["ai-military"], None),
    ("Bundeswehr prüft KI-Waffen", "heise", "de", None, 1, ["ai-military"], None),
]


def newsmon(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "100", "NEWSMON_CONFIG": ""})


@pytest.fixture
def config(make_config: Callable[..., Path]) -> Path:
    config = make_config(
        [
            {"name": "wire", "url": "https://wire.example/feed.xml"},
            {"name": "lemonde", "url": "https://lemonde.example/feed.xml"},
        ],
        [{"name": "ai-military", "any": ["AI", "IA", "KI"]}, {"name": "drones", "any": ["drone"]}],
    )
    engine = engine_for(database_of(config))
    with engine.begin() as connection:
        for n, (title, source, lang, published, fetched, topics, verdict) in enumerate(ARTICLES):
            article_id = connection.execute(
                insert(articles).values(
                    url=f"https://{source}.example/{n}",
                    fingerprint=f"{n:064x}",
                    source=source,
                    title=title,
                    text=f"{title}. Some text about it.",
                    language=lang,
                    published=None if published is None else NOW - timedelta(days=published),
                    fetched_at=NOW - timedelta(days=fetched, minutes=n),
                )
            ).inserted_primary_key[0]
            for topic in topics:
                connection.execute(
                    insert(article_topics).values(article_id=article_id, topic=topic, terms=["x"])
                )
            if verdict:
                connection.execute(
                    insert(reviews).values(article_id=article_id, verdict=verdict, reviewed_at=NOW)
                )
    return config


def titles(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [record["title"] for record in json.loads(result.output)]


# --- hits ------------------------------------------------------------------------------------


def test_hits_newest_published_first_fetched_since(config: Path) -> None:
    found = titles(newsmon("hits", "--config", str(config), "--json"))
    # Tagged, fetched in the last 7 days; newest published first, undated last.
    assert found == [
        "Pentagon tests AI targeting",
        "Drone swarm exercise",
        "L'armée teste une IA",
        "Bundeswehr prüft KI-Waffen",
    ]


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (["--source", "lemonde"], ["L'armée teste une IA"]),
        (["--lang", "de"], ["Bundeswehr prüft KI-Waffen"]),
        (["--lang", "fra"], ["L'armée teste une IA"]),  # language codes are normalised
        (["--review", "relevant"], ["Pentagon tests AI targeting"]),
        (["--review", "irrelevant"], ["Drone swarm exercise"]),
        (["--search", "swarm"], ["Drone swarm exercise"]),
        (["--search", "armée"], ["L'armée teste une IA"]),
        (["--topic", "drones"], ["Drone swarm exercise"]),
        (["--since", "60d", "--source", "wire", "--topic", "ai-military"], None),
    ],
)
def test_hits_filters(config: Path, option: list[str], expected: list[str] | None) -> None:
    found = titles(newsmon("hits", "--config", str(config), "--json", *option))
    if expected is None:  # the old story is back with a longer --since
        assert "Old story fetched long ago" in found and "L'armée teste une IA" not in found
    else:
        assert found == expected


def test_hits_json_records_carry_export_fields(config: Path) -> None:
    result = newsmon("hits", "--config", str(config), "--json", "--review", "relevant")
    [record] = json.loads(result.output)
    assert record["review"]["verdict"] == "relevant" and record["topics"] == ["ai-military"]
    assert record["copy_records"] == [] and record["url"] == "https://wire.example/0"


def test_hits_bad_language_is_one_line(config: Path) -> None:
    result = newsmon("hits", "--config", str(config), "--lang", "zz-not-a-language")
    assert result.exit_code == 2
    assert "--lang" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("width", [40, 60, 80, 200])
def test_hits_table_fits_the_terminal(config: Path, width: int) -> None:
    result = CliRunner().invoke(cli, ["hits", "--config", str(config)], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 8  # two lines per hit
    assert all(cells(line) <= width for line in lines), lines
    if width < 100:
        assert any(line.endswith("…") for line in lines)  # cut, visibly
    assert "Pentagon" in lines[0] and "Pentagon tests"[: min(14, width - 22)] in lines[0]


def test_fit_counts_wide_characters_and_marks_the_cut() -> None:
    assert fit("abc", 5) == "abc  "
    assert fit("abcdef", 4) == "abc…"
    assert fit("日本語のニュース", 7) == "日本語…"  # 6 columns of text and the ellipsis
    assert fit("日本語のニュース", 8) == "日本語… "  # the next character would not fit: a pad
    assert cells(fit("日本語のニュース", 7)) == 7


def test_hits_table_keeps_columns_aligned() -> None:
    record = {
        "id": 7,
        "published": "2026-12-01T10:00:00+00:00",
        "fetched_at": "2026-12-01T10:00:00+00:00",
        "source": "a-very-long-source-name-indeed",
        "topics": ["ai-military", "autonomous-weapons", "ai-export-controls"],
        "title": "A title\nwith a line break and quite a few words to cut at some point",
        "url": "https://example.org/7",
        "matches": {"ai-military": ["AI"]},
        "copies": 0,
        "review": None,
    }
    first, second = hits_table([record], {}, 72)
    assert cells(first) <= 72 and cells(second) <= 72
    assert "\n" not in first and first.startswith("     7  2026-12-01  ")


# --- --json elsewhere ------------------------------------------------------------------------


def test_sources_list_and_status_json(config: Path) -> None:
    listed = json.loads(newsmon("sources", "list", "--config", str(config), "--json").output)
    assert [s["name"] for s in listed] == ["wire", "lemonde"]
    assert listed[0]["kind"] == "feed" and listed[0]["enabled"] is True
    assert listed[0]["last_fetch_at"] is None
    status = json.loads(newsmon("sources", "status", "--config", str(config), "--json").output)
    wire = status[0]
    assert wire["name"] == "wire" and wire["owed_links"] == 0 and "flags" in wire
    assert wire["new_24h"] == 1 and wire["new_7d"] == 3  # by fetch time, as the text says


def test_topics_test_json(config: Path) -> None:
    result = newsmon("topics", "test", "--config", str(config), "--json", "An AI drone")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["matches"] == {"ai-military": ["AI"], "drones": ["drone"]}
    assert found["misses"] == {}
    missed = json.loads(newsmon("topics", "test", "--config", str(config), "--json", "AI").output)
    assert list(missed["misses"]) == ["drones"] and missed["misses"]["drones"]


def test_stories_json_is_a_list(config: Path) -> None:
    result = newsmon("stories", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []


# --- small messages --------------------------------------------------------------------------


def test_review_note_without_text_says_what_is_missing(config: Path) -> None:
    result = newsmon("review", "--config", str(config), "1", "note")
    assert result.exit_code == 2
    assert '--note "TEXT"' in result.output
    noted = newsmon("review", "--config", str(config), "1", "note", "--note", "brief it")
    assert noted.exit_code == 0 and "note: brief it" in noted.output


def test_stories_empty_states_say_what_to_do(config: Path, make_config) -> None:
    none_yet = newsmon("stories", "--config", str(config))
    assert none_yet.exit_code == 0
    assert none_yet.output.startswith("No stories of 2 articles or more since 7d: a story forms")
    assert "--min-articles 1" in none_yet.output
    empty = make_config([{"name": "wire", "url": "https://wire.example/feed.xml"}], name="e")
    engine_for(database_of(empty).replace("newsmon.db", "empty.db"))
    (empty / "settings.yaml").write_text(
        (empty / "settings.yaml").read_text().replace("newsmon.db", "empty.db")
    )
    result = newsmon("stories", "--config", str(empty))
    assert result.output.strip() == (
        "No stories: no article stored yet. Run `newsmon crawl` to fetch the sources."
    )


def test_hits_table_copy_lines_keep_the_url_on_a_narrow_terminal() -> None:
    record = {
        "id": 3,
        "published": None,
        "fetched_at": "2026-12-01T10:00:00+00:00",
        "source": "wire",
        "topics": ["nato"],
        "title": "Original",
        "url": "https://wire.example/3",
        "matches": {"nato": ["NATO"]},
        "copies": 1,
        "review": None,
    }
    copy = {"id": 9, "source": "daily", "title": "A long copied headline " * 4}
    copy["url"] = "https://daily.example/9"
    lines = hits_table([record], {3: [copy]}, 80)
    line = click.unstyle(lines[2])
    assert "https://daily.example/9" in line and line.endswith("…")
