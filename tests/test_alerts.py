"""Alerts reach real receivers on 127.0.0.1 (an SMTP server, a webhook), once: immediate hits,
a digest at its time, quiet hours, no duplicate across a restart, retries after an outage,
spikes, source health, masked secrets and escaped hostile titles. The clock is passed in."""

from __future__ import annotations

import logging
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, update

from crawler.alerts.deliver import IMMEDIATE_EACH, apprise_send, preview, send_due
from crawler.cli.main import cli
from crawler.config.files import Config, load_config
from crawler.store.alerts_sent import rule_status
from crawler.store.database import engine_for
from crawler.store.schema import sources
from tests.alert_receivers import smtp_server, webhook
from tests.config_files import yaml_text
from tests.conftest import TEST_SETTINGS, write_config
from tests.processes import reap
from tests.web_fixtures import XSS_TITLE, store_items, synthetic

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
TOPICS = [{"name": "nato", "any": ["NATO", "alliance"]}, {"name": "ai", "any": ["AI"]}]


def configure(
    tmp_path: Path,
    channels: dict[str, str],
    rules: list[dict[str, Any]],
    database: str | None = None,
) -> Config:
    directory = write_config(
        tmp_path / "config",
        {"database": database or f"sqlite:///{tmp_path / 'newsmon.db'}", **TEST_SETTINGS},
        [{"name": "wire", "url": "https://news.example.org/feed.xml"}],
        TOPICS,
    )
    (directory / "alerts.yaml").write_text(yaml_text({"channels": channels, "rules": rules}))
    return load_config(directory)


def hit(engine: Engine, n: int, when: datetime, title: str = "", **kwargs: Any) -> int:
    item = synthetic(
        n,
        title or f"NATO summit news {n}",
        f"Leaders of the alliance met. NATO said more, story {n}.",
        {"nato": ["NATO", "alliance"]},
        when=when,
        **kwargs,
    )
    return store_items(engine, item)[0]


def test_immediate_hits_once_even_after_a_restart(tmp_path: Path) -> None:
    with webhook() as hook:
        config = configure(
            tmp_path,
            {"hook": f"json://127.0.0.1:{hook.port}/"},
            [{"name": "now", "channels": ["hook"], "topics": ["nato"]}],
        )
        engine = engine_for(config.settings.database)
        hit(engine, 1, NOW - timedelta(minutes=5))
        hit(engine, 2, NOW - timedelta(minutes=2))
        store_items(engine, synthetic(3, "Other", "AI only", {"ai": ["AI"]}, when=NOW))
        report = send_due(engine, config, NOW)
        assert report.sent == {"now": 2}
        assert hook.titles == ["[nato] NATO summit news 1", "[nato] NATO summit news 2"]
        body = hook.posts[0]["message"]
        assert "wire · 2026-12-03 08:55 UTC · en" in body
        assert "nato: NATO: “Leaders of the alliance met. NATO said more, story 1.”" in body
        assert "Original: https://news.example.org/wire/1" in body
        # A restart: a new engine on the same store, the same check again.
        engine.dispose()
        again = load_config(config.directory)
        assert not send_due(engine_for(again.settings.database), again, NOW + timedelta(minutes=1))
        assert len(hook.posts) == 2
        hit(engine, 4, NOW + timedelta(minutes=3))
        send_due(engine, again, NOW + timedelta(minutes=4))
        assert hook.titles[-1] == "[nato] NATO summit news 4" and len(hook.posts) == 3


def test_many_new_hits_make_one_message(tmp_path: Path) -> None:
    with webhook() as hook:
        config = configure(
            tmp_path,
            {"hook": f"json://127.0.0.1:{hook.port}/"},
            [{"name": "now", "channels": ["hook"]}],
        )
        engine = engine_for(config.settings.database)
        for n in range(IMMEDIATE_EACH + 1):
            hit(engine, n, NOW - timedelta(minutes=n))
        send_due(engine, config, NOW)
        assert hook.titles == [f"{IMMEDIATE_EACH + 1} new hits for now"]


def test_filters_originals_review_and_min_terms(tmp_path: Path) -> None:
    with webhook() as hook:
        config = configure(
            tmp_path,
            {"hook": f"json://127.0.0.1:{hook.port}/"},
            [
                {"name": "two", "channels": ["hook"], "min_terms": 2, "originals_only": True},
            ],
        )
        engine = engine_for(config.settings.database)
        original = hit(engine, 1, NOW - timedelta(minutes=5))
        copy = synthetic(2, "NATO summit news 1", "copy", {"nato": ["NATO", "alliance"]}, when=NOW)
        copy.duplicate_of = original
        store_items(engine, copy)
        store_items(
            engine, synthetic(3, "Only NATO", "NATO", {"nato": ["NATO"]}, when=NOW)
        )  # one term only
        send_due(engine, config, NOW)
        assert hook.titles == ["[nato] NATO summit news 1"]
        assert "1 near copies" in hook.posts[0]["message"]


def test_digest_at_its_time_in_its_zone(tmp_path: Path) -> None:
    with webhook() as hook:
        rule = {
            "name": "morning",
            "channels": ["hook"],
            "mode": "digest",
            "digest": "daily 08:00",
            "timezone": "Europe/Paris",  # 08:00 in Paris is 07:00 UTC in December
        }
        config = configure(tmp_path, {"hook": f"json://127.0.0.1:{hook.port}/"}, [rule])
        engine = engine_for(config.settings.database)
        day = datetime(2026, 12, 3, tzinfo=UTC)
        hit(engine, 1, day + timedelta(hours=5))
        hit(engine, 2, day + timedelta(hours=6, minutes=30))
        assert not send_due(engine, config, day + timedelta(hours=6, minutes=59))
        when, coming = preview(engine, config.alerts.rules[0], day + timedelta(hours=6, minutes=59))
        assert when == day + timedelta(hours=7) and [r["title"][-1] for r in coming] == ["1", "2"]
        hit(engine, 3, day + timedelta(hours=7, minutes=0, seconds=10))  # for tomorrow's
        report = send_due(engine, config, day + timedelta(hours=7, seconds=30))
        assert report.sent == {"morning": 1}
        assert hook.titles == ["2 new hits for morning"]
        assert "news 3" not in hook.posts[0]["message"]
        assert not send_due(engine, config, day + timedelta(hours=8))
        send_due(engine, config, day + timedelta(days=1, hours=7, minutes=1))
        assert hook.titles[-1] == "[nato] NATO summit news 3"


def test_quiet_hours_hold_and_then_send(tmp_path: Path) -> None:
    with webhook() as hook:
        rule = {"name": "now", "channels": ["hook"], "quiet_hours": "22:00-07:00"}
        config = configure(tmp_path, {"hook": f"json://127.0.0.1:{hook.port}/"}, [rule])
        engine = engine_for(config.settings.database)
        night = datetime(2026, 12, 3, 23, 0, tzinfo=UTC)
        hit(engine, 1, night)
        report = send_due(engine, config, night + timedelta(minutes=1))
        assert report.held == ["now"] and hook.posts == []
        assert send_due(engine, config, night + timedelta(hours=7, minutes=59)).held
        send_due(engine, config, night + timedelta(hours=8, minutes=1))
        assert hook.titles == ["[nato] NATO summit news 1"]


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_retry_after_an_outage_with_back_off(
    tmp_path: Path, engine_name: str, request: pytest.FixtureRequest
) -> None:
    database = request.getfixturevalue("postgres_url") if engine_name == "postgresql" else None
    with webhook() as hook:
        config = configure(
            tmp_path,
            {"hook": f"json://127.0.0.1:{hook.port}/"},
            [{"name": "now", "channels": ["hook"]}],
            database,
        )
        engine = engine_for(config.settings.database)
        hit(engine, 1, NOW)
        hook.status = 503
        report = send_due(engine, config, NOW)
        assert "now" in report.failed and not report.sent
        status = rule_status(engine, ["now"])["now"]
        assert (status.sent, status.failing) == (0, 1)
        assert status.next_attempt_at == NOW + timedelta(minutes=1)
        hook.status = 429
        assert not send_due(engine, config, NOW + timedelta(seconds=30))  # not due yet
        send_due(engine, config, NOW + timedelta(minutes=1))
        status = rule_status(engine, ["now"])["now"]
        assert status.next_attempt_at == NOW + timedelta(minutes=3)  # doubled
        hook.status = 200
        send_due(engine, config, NOW + timedelta(minutes=3))
        assert hook.titles == ["[nato] NATO summit news 1"]
        status = rule_status(engine, ["now"])["now"]
        assert (status.sent, status.failing, status.last_sent_at) == (
            1,
            0,
            NOW + timedelta(minutes=3),
        )


def test_secrets_are_masked_in_errors_and_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Tsecret0token0path1234"
    with webhook() as hook:
        monkeypatch.setenv("HOOK_URL", f"json://user:pa55word-x@127.0.0.1:{hook.port}/{secret}")
        config = configure(
            tmp_path, {"hook": "${HOOK_URL}"}, [{"name": "now", "channels": ["hook"]}]
        )
        engine = engine_for(config.settings.database)
        hit(engine, 1, NOW)
        hook.status = 500
        with caplog.at_level(logging.DEBUG):
            report = send_due(engine, config, NOW)
        assert report.failed["now"]
        logged = caplog.text + report.failed["now"]
        logged += str(rule_status(engine, ["now"])["now"].last_error)
        assert secret not in logged and "pa55word" not in logged
        hook.status = 200
        send_due(engine, config, NOW + timedelta(minutes=2))
        assert hook.paths == [f"/{secret}"]  # the real URL was used


def test_hostile_titles_are_escaped_in_mail(tmp_path: Path) -> None:
    with smtp_server() as (mailbox, port):
        config = configure(
            tmp_path,
            {"desk": f"mailto://127.0.0.1:{port}?from=newsmon@example.org&to=desk@example.org"},
            [{"name": "now", "channels": ["desk"]}],
        )
        engine = engine_for(config.settings.database)
        hit(engine, 1, NOW, title=XSS_TITLE, url="javascript:alert(3)//x")
        send_due(engine, config, NOW)
        assert len(mailbox.messages) == 1
        html = mailbox.html()
        assert "<script>" not in html and "<img" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert 'href="javascript' not in html
        assert mailbox.messages[0]["To"] == "desk@example.org"


def test_review_page_links_with_public_url(tmp_path: Path) -> None:
    with smtp_server() as (mailbox, port):
        config = configure(
            tmp_path,
            {"desk": f"mailto://127.0.0.1:{port}?from=newsmon@example.org&to=desk@example.org"},
            [{"name": "now", "channels": ["desk"]}],
        )
        settings = config.directory / "settings.yaml"
        settings.write_text(settings.read_text() + "public_url: https://newsmon.example.org/\n")
        config = load_config(config.directory)
        engine = engine_for(config.settings.database)
        article = hit(engine, 1, NOW)
        send_due(engine, config, NOW)
        assert f'href="https://newsmon.example.org/articles/{article}"' in mailbox.html()


def test_spike_once_a_day(tmp_path: Path) -> None:
    with webhook() as hook:
        config = configure(
            tmp_path,
            {"hook": f"json://127.0.0.1:{hook.port}/"},
            [{"name": "spikes", "kind": "spike", "channels": ["hook"], "min_articles": 4}],
        )
        engine = engine_for(config.settings.database)
        n = 0
        for days in range(1, 16):
            for _ in range(1 + days % 2):  # one or two a day
                n += 1
                hit(engine, n, NOW - timedelta(days=days))
        for _ in range(3):
            n += 1
            hit(engine, n, NOW - timedelta(hours=1))
        assert not send_due(engine, config, NOW)  # 3 today: below min_articles
        n += 1
        hit(engine, n, NOW - timedelta(minutes=1))
        send_due(engine, config, NOW)
        send_due(engine, config, NOW + timedelta(hours=1))
        assert hook.titles == ["Spike: nato, 4 articles today"]
        assert "nato: 4 articles today (2026-12-03), against 1.5 a day" in hook.posts[0]["message"]


def test_source_health_once_per_change(tmp_path: Path) -> None:
    with webhook() as hook:
        config = configure(
            tmp_path,
            {"hook": f"json://127.0.0.1:{hook.port}/"},
            [{"name": "health", "kind": "health", "channels": ["hook"]}],
        )
        engine = engine_for(config.settings.database)
        with engine.begin() as connection:
            connection.execute(
                sources.insert().values(
                    name="wire",
                    url="https://news.example.org/feed.xml",
                    consecutive_failures=3,
                    last_error="HTTP 503",
                    last_success_at=NOW - timedelta(hours=5),
                    last_new_at=NOW - timedelta(hours=5),
                    last_fetch_at=NOW,
                )
            )
        send_due(engine, config, NOW)
        send_due(engine, config, NOW + timedelta(minutes=5))
        assert hook.titles == ["Source wire: FAILING"]
        assert "3 failed passes in a row: HTTP 503" in hook.posts[0]["message"]
        with engine.begin() as connection:  # recovers, then fails again
            connection.execute(update(sources).values(last_success_at=NOW + timedelta(hours=1)))
        send_due(engine, config, NOW + timedelta(hours=2))
        assert hook.titles == ["Source wire: FAILING"] * 2


def test_run_sends_the_hits_of_its_passes_once(site, make_config, tmp_path: Path) -> None:
    """`newsmon run` sends the alerts of a pass's new hits, and none again after a restart."""
    from tests.outlets import TOPICS as OUTLET_TOPICS
    from tests.outlets import page, rss2
    from tests.test_run_service import read, start, wait_for

    links = [("/en/pentagon-ai", site.add("/en/pentagon-ai", page("en_pentagon_ai.html")))]
    site.add("/feed.xml", rss2(links), content_type="application/rss+xml")
    with webhook() as hook:
        config = make_config(
            [{"name": "wire", "url": site.url("/feed.xml"), "every": "1h"}], OUTLET_TOPICS
        )
        (config / "alerts.yaml").write_text(
            yaml_text(
                {
                    "channels": {"hook": f"json://127.0.0.1:{hook.port}/"},
                    "rules": [{"name": "now", "channels": ["hook"]}],
                }
            )
        )
        log = tmp_path / "run.log"
        for attempt in (1, 2):
            process = start(config, log)
            try:
                wait_for(lambda n=attempt: read(log).count("sources scheduled") == n, what="start")
                if attempt == 1:
                    wait_for(lambda: hook.posts, what="the alert")
                    # Logged once the webhook has answered: maybe just after it got the post.
                    wait_for(lambda: "Alert now: sent" in read(log), what="the alert's log line")
                else:
                    time.sleep(2)  # its first check for alerts runs at start-up
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0
            finally:
                reap(process)
        assert len(hook.posts) == 1 and "Pentagon" in hook.posts[0]["title"]


def test_commands_test_preview_and_status(tmp_path: Path) -> None:
    with webhook() as hook:
        config = configure(
            tmp_path,
            {"hook": f"json://127.0.0.1:{hook.port}/secret-path-1234"},
            [
                {"name": "now", "channels": ["hook"], "topics": ["nato"]},
                {"name": "daily", "channels": ["hook"], "mode": "digest", "digest": "daily 23:59"},
            ],
        )
        engine = engine_for(config.settings.database)
        now = datetime.now(UTC)
        hit(engine, 1, now - timedelta(minutes=1))
        runner = CliRunner()
        options = ["--config", str(config.directory)]
        result = runner.invoke(cli, ["alerts", "test", "now", *options])
        assert result.exit_code == 0, result.output
        assert "Sent to hook (json://127.0.0.1:" in result.output and "secret" not in result.output
        assert hook.titles == ["[test] [nato] NATO summit news 1"]
        result = runner.invoke(cli, ["alerts", "preview", "daily", *options])
        assert result.exit_code == 0, result.output
        assert "Next digest of daily:" in result.output and "1 hits so far" in result.output
        assert "NATO summit news 1" in result.output
        hook.status = 503
        send_due(engine, config, now)
        result = runner.invoke(cli, ["alerts", "status", *options])
        assert result.exit_code == 0, result.output
        assert "now [FAILING]: immediate" in result.output
        assert "last error: hook:" in result.output and "secret-path" not in result.output
        result = runner.invoke(cli, ["alerts", "test", "now", *options])
        assert result.exit_code == 1 and "sending failed: hook:" in result.output
        result = runner.invoke(cli, ["alerts", "test", "nope", *options])
        assert result.exit_code == 2 and "no rule named 'nope'" in result.output


def test_dashboard_shows_failing_alerts(tmp_path: Path) -> None:
    from crawler.review.web.app import create_app

    with webhook() as hook:
        config = configure(
            tmp_path,
            {"hook": f"json://127.0.0.1:{hook.port}/secret-path-1234"},
            [{"name": "now", "channels": ["hook"]}, {"name": "quiet", "channels": ["hook"]}],
        )
        engine = engine_for(config.settings.database)
        hit(engine, 1, NOW)
        hook.status = 503
        send_due(engine, config, NOW)
        html = create_app(engine, config).test_client().get("/dashboard").get_data(as_text=True)
        assert "<h2>Alerts</h2>" in html
        assert '<strong>now</strong> <span class="flag">FAILING</span>' in html
        assert "secret-path" not in html and "hook:" in html
        plain = load_config(write_config(tmp_path / "plain", {}, [], TOPICS))
        html = create_app(engine, plain).test_client().get("/dashboard").get_data(as_text=True)
        assert "<h2>Alerts</h2>" not in html


def test_an_outage_costs_one_attempt_per_check(tmp_path: Path) -> None:
    with webhook() as hook:
        config = configure(
            tmp_path,
            {"hook": f"json://127.0.0.1:{hook.port}/"},
            [{"name": "now", "channels": ["hook"]}],
        )
        engine = engine_for(config.settings.database)
        for n in range(3):
            hit(engine, n, NOW - timedelta(minutes=n))
        hook.status = 502
        tried: list[str] = []

        def send(channels: list[Any], message: Any) -> str | None:
            tried.append(message.subject)
            return apprise_send(channels, message)

        send_due(engine, config, NOW, send)
        assert len(tried) == 1
        assert rule_status(engine, ["now"])["now"].failing == 3
        hook.status = 200
        send_due(engine, config, NOW + timedelta(minutes=1), send)
        assert len(hook.posts) == 3


def test_one_sender_among_processes_sharing_a_postgresql_store(
    tmp_path: Path, postgres_url: str
) -> None:
    """While another `newsmon run` on the same store holds the sender's role, a check sends
    nothing; once it is released, the hits go out once."""
    from sqlalchemy import create_engine

    from crawler.store.alerts_sent import sole_sender

    with webhook() as hook:
        config = configure(
            tmp_path,
            {"hook": f"json://127.0.0.1:{hook.port}/"},
            [{"name": "now", "channels": ["hook"]}],
            postgres_url,
        )
        engine = engine_for(config.settings.database)
        hit(engine, 1, NOW)
        other = create_engine(postgres_url)  # another process's connection pool
        with sole_sender(other) as held:
            assert held
            report = send_due(engine, config, NOW)
            assert report.busy and hook.posts == []
        other.dispose()
        send_due(engine, config, NOW)
        send_due(engine, config, NOW)
        assert hook.titles == ["[nato] NATO summit news 1"]
