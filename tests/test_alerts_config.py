"""alerts.yaml: optional, checked with one line naming the file, the rule and the field,
secrets from the environment and never shown; `mask` keeps only what is safe to print."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.config.alerts import mask, scrub
from crawler.config.files import ConfigError, load_config
from tests.test_config import write

SLACK = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/XXXXsecretXXXXtokenXXXX"


def with_alerts(directory: Path, text: str) -> Path:
    write(directory)
    (directory / "alerts.yaml").write_text(text, encoding="utf-8")
    return directory


def test_no_file_no_alerts(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "c"))
    assert config.alerts.rules == () and config.alerts.channels == ()


def test_a_full_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_URL", SLACK)
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-very-secret")
    config = load_config(
        with_alerts(
            tmp_path / "c",
            """
channels:
  slack: ${SLACK_URL}
  desk: mailtos://newsmon:${SMTP_PASSWORD}@smtp.example.org?to=desk@example.org
rules:
  - name: morning
    channels: [desk, slack]
    topics: [t]
    mode: digest
    digest: daily 8:00
    timezone: Europe/Paris
    quiet_hours: 22:00-07:00
    originals_only: true
    review: unreviewed
    min_terms: 2
  - name: now
    channels: [slack]
""",
        )
    )
    slack, desk = config.alerts.channels
    assert slack.url == SLACK and "hunter2-very-secret" in desk.url
    assert "hunter2" not in repr(config) and "secret" not in repr(config)
    morning, now = config.alerts.rules
    assert morning.digest == "daily 08:00" and morning.digest_at == time(8, 0)
    assert morning.quiet_hours == (time(22, 0), time(7, 0))
    assert (morning.originals_only, morning.review, morning.min_terms) == (True, "unreviewed", 2)
    assert morning.topics == ("t",) and now.topics is None and now.mode == "immediate"


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("  - name: r\n    channels: [nope]\n", "rule 1 ('r'): field 'channels': no channel"),
        ("  - name: r\n    channels: [a]\n    topics: [x]\n", "field 'topics': no topic named 'x'"),
        ("  - name: r\n    channels: [a]\n    mode: digest\n", "mode digest needs `digest:"),
        ("  - name: r\n    channels: [a]\n    mode: digest\n    digest: weekly\n", "'digest'"),
        ("  - name: r\n    channels: [a]\n    quiet_hours: 25:00-07:00\n", "'quiet_hours'"),
        ("  - name: r\n    channels: [a]\n    timezone: Mars/Olympus\n", "unknown time zone"),
        ("  - name: r\n    channels: [a]\n    review: maybe\n", "field 'review'"),
        ("  - name: r\n    channels: [a]\n    min_terms: 0\n", "field 'min_terms'"),
        ("  - name: r\n    channels: [a]\n    colour: red\n", "unknown field 'colour'"),
        ("  - name: r\n    kind: spike\n    channels: [a]\n    review: relevant\n", "kind hits"),
        ("  - name: r\n    channels: [a]\n  - name: r\n    channels: [a]\n", "used twice"),
    ],
)
def test_mistakes_name_the_rule_and_field(tmp_path: Path, rules: str, message: str) -> None:
    directory = with_alerts(tmp_path / "c", f"channels:\n  a: json://127.0.0.1:9/\nrules:\n{rules}")
    with pytest.raises(ConfigError) as raised:
        load_config(directory)
    assert "alerts.yaml" in str(raised.value) and message in str(raised.value)


def test_a_missing_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_URL", raising=False)
    directory = with_alerts(tmp_path / "c", "channels:\n  slack: ${NO_SUCH_URL}\nrules: []\n")
    with pytest.raises(ConfigError, match="channel 'slack': environment variable NO_SUCH_URL"):
        load_config(directory)


def test_config_check_reports_alerts_masked(tmp_path: Path) -> None:
    directory = with_alerts(
        tmp_path / "c",
        "channels:\n  slack: ${SLACK_URL}\nrules:\n  - name: now\n    channels: [slack]\n",
    )
    check = ["config", "check", "--config"]
    result = CliRunner().invoke(cli, [*check, str(directory)], env={"SLACK_URL": SLACK})
    assert result.exit_code == 0, result.output
    assert "alerts: 1 rule (now), 1 channel" in result.stdout
    assert "https://hooks.slack.com/***" in result.stdout
    assert "secret" not in result.stdout
    bad = with_alerts(
        tmp_path / "d",
        "channels:\n  a: json://127.0.0.1:9/\nrules:\n"
        "  - name: r\n    channels: [a]\n    subject: '{{ unclosed'\n",
    )
    unknown = with_alerts(tmp_path / "e", "channels:\n  a: nosuch://secret-token@host/x\n")
    result = CliRunner().invoke(cli, [*check, str(unknown)])
    assert result.exit_code == 2
    assert "channel 'a': not a URL Apprise can use: nosuch://***@***/***" in result.output
    assert ": ok" not in result.output
    assert "secret-token" not in result.output
    result = CliRunner().invoke(cli, [*check, str(bad)])
    assert result.exit_code == 2
    assert "alerts.yaml: rule 'r': field 'subject'" in result.stderr


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (SLACK, "https://hooks.slack.com/***"),
        (
            "mailtos://newsmon:hunter2@smtp.example.org:465?to=desk@example.org&from=a@b.org",
            "mailtos://***@smtp.example.org:465?to=***&from=***",
        ),
        ("slack://T0AAAA/B0BBBB/XXXXtoken/#general", "slack://***/***"),
        ("tgram://123456:ABCDEF/987654", "tgram://***/***"),
        ("json://127.0.0.1:8080/", "json://127.0.0.1:8080"),
        ("ntfy://ntfy.sh/secret-topic", "ntfy://ntfy.sh/***"),
        ("not a url", "***"),
    ],
)
def test_mask(url: str, masked: str) -> None:
    assert mask(url) == masked


def test_scrub_hides_every_secret_piece() -> None:
    url = "mailtos://newsmon:hunter2-pass@smtp.example.org?to=desk@example.org"
    text = f"login failed for newsmon with hunter2-pass at {url}; token XXXXsecretXXXXtokenXXXX"
    cleaned = scrub(text, [url, SLACK])
    assert "hunter2" not in cleaned and "XXXXsecret" not in cleaned
    assert "smtp.example.org" in cleaned and "desk@example.org" not in cleaned
