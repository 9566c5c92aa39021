"""`newsmon alerts ...`: try a rule's channels (`test`), see its next message (`preview`) and what
the alerts sent and owe (`status`).

Part of the command line (see crawler/cli/main.py). Sending and rendering are
`crawler.alerts`'s; `newsmon run` is what sends alerts for real. Their modules (Jinja, Apprise)
are imported by the commands that use them: every command loads this module.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from crawler.alerts.timing import in_quiet_hours
from crawler.cli.base import UserError, config_option, echo_json, json_option, read_store
from crawler.config.alerts import AlertRule
from crawler.config.files import ALERTS_FILE, Config, load_config
from crawler.store.alerts_sent import rule_status
from crawler.store.database import StorageError
from crawler.store.queries import iter_records

SAMPLE = {
    "id": 0,
    "url": "https://news.example.org/2026/12/sample",
    "source": "sample-outlet",
    "title": "A sample alert from newsmon",
    "published": None,
    "language": "en",
    "text": "This is a sample: newsmon alerts will look like this.",
    "topics": ["sample"],
    "matches": {"sample": ["sample"]},
    "copies": 0,
}


class SendError(click.ClickException):
    """A channel refused the message: exit code 1."""


@click.group()
def alerts() -> None:
    """Try, preview and watch the alerts of alerts.yaml (docs/alerts.md)."""


def _rule(config: Config, name: str) -> AlertRule:
    rule = config.alerts.rule(name)
    if rule is None:
        known = ", ".join(r.name for r in config.alerts.rules) or "none"
        raise UserError(
            f"{config.directory / ALERTS_FILE}: no rule named {name!r} (rules: {known})"
        )
    from crawler.alerts.render import check_templates

    check_templates(rule, str(config.directory / ALERTS_FILE))
    return rule


def _sample(config: Config, rule: AlertRule) -> list[dict[str, Any]]:
    """The newest stored hit of the rule's topics, else a made-up article."""
    try:
        engine = read_store(config.settings.database)
    except StorageError:  # no store yet (StoreNotReady), or none to open: a made-up article
        return [SAMPLE]
    topics = rule.topics or [t.name for t in config.topics]
    for topic in topics:
        for record in iter_records(engine, topic, newest_first=True, limit=1, originals=True):
            return [record]
    return [SAMPLE]


@alerts.command("test")
@config_option
@click.argument("rule_name", metavar="RULE")
def alerts_test(config_dir: Path | None, rule_name: str) -> None:
    """Send a sample message of RULE to its channels now: the newest stored hit of its topics
    (or a made-up one), rendered with its templates. Nothing is recorded: the hit is still
    sent when due. Exits 1 when a channel refuses it."""
    from crawler.alerts.deliver import apprise_send
    from crawler.alerts.render import Message, render

    config = load_config(config_dir)
    rule = _rule(config, rule_name)
    channels = config.alerts.channels_of(rule)
    if rule.kind == "hits":
        message = render(rule, _sample(config, rule), config.settings.public_url)
        message = Message(f"[test] {message.subject}", message.text, message.html)
    else:
        line = f"A test of the {rule.kind} alert {rule.name!r} of newsmon."
        message = Message(f"[test] {rule.name}", line + "\n", f"<p>{line}</p>")
    error = apprise_send(channels, message)
    if error:
        raise SendError(f"sending failed: {error}")
    for channel in channels:
        click.echo(f"Sent to {channel.name} ({channel.masked}): {message.subject}")


@alerts.command("preview")
@config_option
@click.argument("rule_name", metavar="RULE")
def alerts_preview(config_dir: Path | None, rule_name: str) -> None:
    """Print the next message of RULE (a hits rule): for a digest, the hits it would hold if
    it were sent now, and when it is due; for an immediate rule, what the next check sends.
    Sends nothing."""
    from crawler.alerts.deliver import due_hits, preview
    from crawler.alerts.render import render

    config = load_config(config_dir)
    rule = _rule(config, rule_name)
    if rule.kind != "hits":
        raise UserError(
            f"rule {rule.name!r} is a {rule.kind} alert: only hits rules have a preview"
        )
    engine = read_store(config.settings.database)
    now = datetime.now(UTC)
    if rule.mode == "digest":
        when, found = preview(engine, rule, now)
        local = when.astimezone(rule.zone)
        click.echo(
            f"Next digest of {rule.name}: {local:%Y-%m-%d %H:%M %Z}, {len(found)} hits so far"
        )
    else:
        found = due_hits(engine, rule, now)
        click.echo(f"The next check of {rule.name} sends {len(found)} hits")
    if rule.quiet_hours and in_quiet_hours(rule, now):
        click.echo("(in its quiet hours: held until they end)")
    if not found:
        return
    message = render(rule, found, config.settings.public_url)
    click.echo(f"\nSubject: {message.subject}\n")
    click.echo(message.text.rstrip())


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


@alerts.command("status")
@config_option
@json_option
def alerts_status(config_dir: Path | None, as_json: bool) -> None:
    """Each rule with its channels (masked), what it sent, what failed and when it is tried
    again (back-off from a minute to an hour, given up after 10 attempts), and the last
    error."""
    config = load_config(config_dir)
    rules = config.alerts.rules
    if not rules:
        click.echo(f"No alerts: {config.directory / ALERTS_FILE} has no rules (docs/alerts.md)")
        return
    found = rule_status(read_store(config.settings.database), [rule.name for rule in rules])
    if as_json:
        echo_json(list(found.values()))
        return
    for name, status in found.items():
        rule = config.alerts.rule(name)
        if rule is None:
            what = "no longer in alerts.yaml"
        elif rule.kind != "hits":
            what = rule.kind
        else:
            what = rule.digest and f"digest {rule.digest} {rule.timezone}" or "immediate"
        flag = " [FAILING]" if status.failing else ""
        click.echo(f"{name}{flag}: {what}")
        if rule is not None:
            channels = ", ".join(f"{c.name} {c.masked}" for c in config.alerts.channels_of(rule))
            click.echo(f"  channels: {channels}")
        click.echo(f"  sent: {status.sent} (last {_when(status.last_sent_at)})")
        if status.failing:
            click.echo(f"  failing: {status.failing}, next attempt {_when(status.next_attempt_at)}")
        if status.given_up:
            click.echo(f"  given up: {status.given_up}")
        if status.last_error and (status.failing or status.given_up):
            click.echo(f"  last error: {status.last_error}")
