"""`newsmon topics test` and `newsmon topics eval` (file and review verdicts), in process
with click's CliRunner, over a real config directory and a real SQLite store; and the
topics.yaml keys they rely on (`lead`, `except`)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.config.files import ConfigError, load_config
from crawler.store.database import engine_for
from crawler.store.reviews import set_review
from tests.config_files import yaml_text
from tests.web_fixtures import store_items, synthetic

TOPICS = [
    {
        "name": "ai-military",
        "description": "AI for armed forces.",
        "all": [["AI", "KI", "IA"], ["military", "militaire*", "=defense", "Bundeswehr"]],
        "near": 15,
        "none": ["NFL"],
        "except": ["cyber defense"],
    },
    {"name": "killer-robots", "any": ["killer robot*"]},
]

RECORDS = [
    # On the beat and tagged (title with lead), in English, French and German.
    {
        "id": "a",
        "title": "Military picks vendors",
        "text": "AI for targeting.",
        "lang": "en",
        "label": True,
        "topics": ["ai-military"],
    },
    {
        "id": "b",
        "title": "L'IA",
        "text": "Un usage militaire.",
        "lang": "fr",
        "label": True,
        "topics": ["ai-military"],
    },
    {"id": "c", "title": None, "text": "KI für die Bundeswehr", "lang": "de", "label": True},
    # On the beat, missed: the groups are too far apart; vetoed.
    {
        "id": "d",
        "title": "News",
        "text": "AI " + "x " * 30 + "military",
        "lang": "en",
        "label": True,
    },
    {"id": "e", "title": None, "text": "AI military NFL", "lang": "en", "label": True},
    # Off the beat: tagged (a false positive), and rightly left alone (cyber defense).
    {
        "id": "f",
        "title": "Killer robots",
        "text": "A film review.",
        "lang": "en",
        "label": False,
        "topics": [],
    },
    {"id": "g", "title": None, "text": "AI for cyber defense", "lang": "en", "label": False},
]


@pytest.fixture
def config(make_config) -> Path:
    return make_config([], TOPICS)


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def write(path: Path, records: list[dict], zipped: bool = False) -> Path:
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if zipped:
        path.write_bytes(gzip.compress(lines.encode()))
    else:
        path.write_text(lines, encoding="utf-8")
    return path


def test_topics_test_explains_and_reads_stdin(config: Path) -> None:
    result = invoke(
        "topics", "test", "--config", str(config), "-", input="AI " + "x " * 30 + "military"
    )
    assert result.exit_code == 0, result.output
    assert "No topic matches." in result.output
    assert "ai-military: no match" in result.output
    assert "closest window: 32 words, over `near: 15`" in result.output
    assert "killer-robots: no match\n    no `any` term matched" in result.output
    cyber = invoke("topics", "test", "--config", str(config), "AI for cyber defense, NFL")
    assert "vetoed by `none` term 'NFL'" in cyber.output
    assert "`all` group 2 (military, militaire*, =defense, Bundeswehr) has no match" in cyber.output
    assert "'=defense' did not count where it stood inside cyber defense" in cyber.output
    titled = invoke(
        "topics",
        "test",
        "--config",
        str(config),
        "--title",
        "Army picks AI",
        "The military wants it.",
    )
    assert "ai-military: AI, military" in titled.output


def test_topics_eval_file(config: Path, tmp_path: Path) -> None:
    for name, zipped in (("dev.jsonl.gz", True), ("dev.jsonl", False)):
        result = invoke(
            "topics", "eval", "--config", str(config), str(write(tmp_path / name, RECORDS, zipped))
        )
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        overall = next(line for line in lines if line.startswith("any topic"))
        # 7 records, 5 on the beat: 3 found, 1 false positive, 2 missed.
        assert overall.split()[2:] == ["7", "5", "3", "1", "2", "0.750", "0.600", "0.667"]
        assert any(line.split()[:2] == ["fr", "1"] for line in lines)
        assert "  f [en] Killer robots" in result.output
        assert "      killer-robots: killer robot*" in result.output
        assert "closest window: 32 words, over `near: 15`" in result.output
        assert "      ai-military: vetoed by `none` term 'NFL'" in result.output
    data = json.loads(
        invoke(
            "topics",
            "eval",
            "--config",
            str(config),
            "--format",
            "json",
            str(tmp_path / "dev.jsonl"),
        ).output
    )
    assert data["overall"] == {
        "records": 7,
        "positives": 5,
        "tp": 3,
        "fp": 1,
        "fn": 2,
        "precision": 0.75,
        "recall": 0.6,
        "f1": 0.6667,
    }
    assert data["languages"]["de"]["recall"] == 1.0 and data["languages"]["en"]["recall"] == 0.3333
    # Per topic where records say which topics they should get (a, b and f).
    assert data["labelled_topics"]["ai-military"]["recall"] == 1.0
    assert data["labelled_topics"]["killer-robots"]["fp"] == 1
    assert data["terms"]["killer robot*"] == {
        "records": 1,
        "positives": 0,
        "tp": 0,
        "fp": 1,
        "fn": 0,
        "precision": 0.0,
        "recall": None,
        "f1": None,
    }
    assert [r["id"] for r in data["false_negatives"]] == ["d", "e"]
    assert data["false_positives"][0]["matches"] == {"killer-robots": ["killer robot*"]}
    # Another topics.yaml, without touching the configured one: no exception, a wider window.
    changed = [dict(TOPICS[0], near=40), TOPICS[1]]
    del changed[0]["except"]
    other = tmp_path / "other.yaml"
    other.write_text(yaml_text({"topics": changed}), encoding="utf-8")
    options = ["--format", "json", "--topics", str(other), str(tmp_path / "dev.jsonl")]
    tried = json.loads(invoke("topics", "eval", "--config", str(config), *options).output)
    assert tried["overall"]["tp"] == 4 and tried["overall"]["fp"] == 2


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('{"text": "x", "lang": "en", "label": true}\n{"text": "x"', "bad.jsonl:2: not JSON"),
        ('{"text": "x", "lang": "en", "label": "yes"}', "bad.jsonl:1: field 'label' must be true"),
        ('{"title": "x", "lang": "en", "label": true}', "bad.jsonl:1: field 'text' is missing"),
        ("\n\n[1, 2]", "bad.jsonl:3: a record must be a JSON object"),
        (
            '{"text": "x", "lang": "en", "label": true, "topics": "t"}',
            "bad.jsonl:1: field 'topics'",
        ),
        (b"\x1f\x8b\x08garbage", "bad.jsonl:1: unreadable"),
        (b'{"text": "\xff"}', "bad.jsonl:1: unreadable"),
    ],
)
def test_topics_eval_bad_file(
    config: Path, tmp_path: Path, content: str | bytes, complaint: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")
    result = invoke("topics", "eval", "--config", str(config), str(bad))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and complaint in result.output, result.output
    assert "Traceback" not in result.output


def test_topics_eval_usage(config: Path, tmp_path: Path) -> None:
    assert invoke("topics", "eval", "--config", str(config)).exit_code == 2
    dev = write(tmp_path / "dev.jsonl", RECORDS)
    both = invoke("topics", "eval", "--config", str(config), "--reviews", str(dev))
    assert both.exit_code == 2 and "either FILE or --reviews" in both.output
    missing = invoke(
        "topics", "eval", "--config", str(config), "--topics", str(tmp_path / "nope.yaml"), str(dev)
    )
    assert missing.exit_code == 2 and "nope.yaml" in missing.output


def test_topics_eval_reviews(config: Path) -> None:
    engine = engine_for(load_config(config).settings.database)
    ids = store_items(
        engine,
        synthetic(1, "Military picks vendors", "AI for targeting.", {"ai-military": ["AI"]}),
        synthetic(2, "Killer robots on screen", "A film.", {"killer-robots": ["killer robot*"]}),
        synthetic(3, "Ban killer robots", "Talks at the UN.", {"killer-robots": ["killer robot*"]}),
        synthetic(4, None, "AI far " + "x " * 30 + "from the military", {}),
        synthetic(5, "Unreviewed", "KI für die Bundeswehr", {}),
    )
    for article_id, action in zip(
        ids, ("relevant", "irrelevant", "relevant", "relevant"), strict=False
    ):
        set_review(engine, article_id, action)
    set_review(engine, ids[4], "star")  # starred, no verdict: not counted
    result = invoke("topics", "eval", "--config", str(config), "--reviews", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["source"] == "review verdicts"
    assert data["overall"]["records"] == 4 and data["overall"]["tp"] == 2
    assert data["topics"]["killer-robots"]["precision"] == 0.5
    assert data["topics"]["ai-military"]["precision"] == 1.0
    assert data["terms"]["killer robot*"]["tp"] == 1 and data["terms"]["killer robot*"]["fp"] == 1
    assert [r["id"] for r in data["false_negatives"]] == [str(ids[3])]
    text = invoke("topics", "eval", "--config", str(config), "--reviews").output
    assert "killer robot*" in text and "precision 0.500" in text


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"lead": 20}, "field 'lead' needs `near`"),
        ({"all": [["AI"], ["army"]], "near": 5, "lead": -1}, "field 'lead' must be a whole"),
        ({"except": "cyber defense"}, "field 'except' must be a non-empty list"),
        ({"except": ["*x"]}, "field 'except': term '*x'"),
    ],
)
def test_config_lead_and_except(make_config, change: dict, complaint: str) -> None:
    config = make_config([], [{"name": "t", "any": ["AI"], **change}])
    with pytest.raises(ConfigError, match=re.escape(complaint)):
        load_config(config)


def test_config_lead_and_except_loaded(config: Path) -> None:
    rule = load_config(config).topics[0]
    assert rule.exceptions == ("cyber defense",) and rule.lead is None
