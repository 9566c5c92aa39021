"""Sending alerts: what each rule of alerts.yaml owes now, rendered, sent through Apprise and
recorded so that it is never sent twice.

Part of the alerts stage (review side of the flow). `newsmon run` calls `send_due` every
minute (crawler.schedule.service only schedules it); `newsmon alerts test/preview/status`
call the rest. The clock is an argument, so tests drive digests and quiet hours without
sleeping, and `send` can be any function that delivers a message to channels.

Never twice: a message is sent first, then its articles are recorded in one transaction
(`crawler.store.alerts_sent`); once recorded they are never sent again by that rule, across
restarts. A crash between the send and that transaction sends the message once more at the
next check: at most one duplicate. A failed send is recorded with its error and retried
with back-off (a minute, doubling to an hour), with the other articles then due.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine

from crawler.alerts.render import Message, render
from crawler.alerts.timing import digest_slot, in_quiet_hours, lookback, next_digest
from crawler.config.alerts import AlertRule, Alerts, Channel, scrub
from crawler.config.files import Config
from crawler.store import alerts_sent
from crawler.store.crawl_state import CrawlState, source_flags

__all__ = [
    "IMMEDIATE_EACH",
    "Report",
    "Sender",
    "apprise_send",
    "distinct_terms",
    "due_hits",
    "preview",
    "send_due",
    "unsupported",
]

logger = logging.getLogger("newsmon.alerts")

IMMEDIATE_EACH = 5  # more new hits than this at once go out as one message, not a flood
MESSAGE_MOST = 100  # hits listed in one message
SPIKE_DAYS = 14  # a topic's day is compared with this many days before it
SPIKE_SIGMAS = 3.0
# The loggers that may write a channel's URL while Apprise sends (urllib3 logs each request's
# path at DEBUG): a logger's filters see only its own records, so each is named.
LIBRARY_LOGGERS = ("apprise", "urllib3.connectionpool")

# Sends a message to channels; returns None when every channel took it, else the error
# (secrets masked).
Sender = Callable[[list[Channel], Message], "str | None"]


class _Scrub(logging.Filter):
    """Masks the channels' secrets in what Apprise logs while it sends."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__()
        self.urls = urls

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage(), self.urls), None
        return True


def apprise_send(channels: list[Channel], message: Message, timeout: float = 30) -> str | None:
    """Send `message` to each channel through Apprise: the HTML body to channels that prefer
    HTML (email), the text body to the others. The error of each channel that failed, its
    secrets masked; None when all took it."""
    import apprise  # only when sending: it loads its plugins

    errors = []
    with _masked(channels):
        for channel in channels:
            sender = apprise.Apprise()
            if not sender.add(channel.url):
                errors.append(f"{channel.name}: not a URL Apprise supports ({channel.masked})")
                continue
            html = sender[0].notify_format[0] == apprise.NotifyFormat.HTML
            result = sender.notify(
                body=message.html if html else message.text,
                title=message.subject,
                body_format=apprise.NotifyFormat.HTML if html else apprise.NotifyFormat.TEXT,
                timeout=timeout,
            )
            if not result:
                said = [entry.message for entry in result.logs() if entry.level != "DEBUG"]
                reason = said[-1] if said else "the service refused it"
                errors.append(f"{channel.name}: {scrub(reason, [channel.url])}")
    return "; ".join(errors) or None


@contextmanager
def _masked(channels: list[Channel]) -> Iterator[None]:
    """The channels' secrets masked in what the libraries log meanwhile (Apprise logs a URL
    it cannot parse whole)."""
    hide = _Scrub([channel.url for channel in channels])
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).addFilter(hide)
    try:
        yield
    finally:
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).removeFilter(hide)


def unsupported(channels: list[Channel]) -> list[Channel]:
    """The channels whose URL Apprise cannot use (an unknown scheme, a token missing)."""
    import apprise

    with _masked(channels):
        return [c for c in channels if apprise.Apprise.instantiate(c.url) is None]


@dataclass
class Report:
    """What one check sent, per rule, for the log and the commands."""

    sent: dict[str, int] = field(default_factory=dict)  # rule -> messages sent
    failed: dict[str, str] = field(default_factory=dict)  # rule -> the last error
    held: list[str] = field(default_factory=list)  # rules in their quiet hours
    busy: bool = False  # another process sharing the store was sending: nothing done

    def __bool__(self) -> bool:
        return bool(self.sent or self.failed)


def distinct_terms(record: dict[str, Any], topics: tuple[str, ...] | None) -> int:
    """The distinct terms (case folded) of the rule's topics that the article matched."""
    return len(
        {
            term.casefold()
            for topic, terms in record["matches"].items()
            if topics is None or topic in topics
            for term in terms
        }
    )


def due_hits(engine: Engine, rule: AlertRule, now: datetime) -> list[dict[str, Any]]:
    """The hits `rule` sends at `now`: new ones (an immediate rule), those fetched before the
    last digest time (a digest), and failed ones due again."""
    until = digest_slot(rule, now) if rule.mode == "digest" else None
    since = (until or now) - lookback(rule)
    found = alerts_sent.pending_hits(
        engine, rule.name, rule.topics, since, until, now, rule.originals_only, rule.review
    )
    return [r for r in found if distinct_terms(r, rule.topics) >= rule.min_terms]


def preview(
    engine: Engine, rule: AlertRule, now: datetime
) -> tuple[datetime, list[dict[str, Any]]]:
    """The next digest of `rule`: its time, and the hits it would hold if it were now."""
    when = next_digest(rule, now)
    found = alerts_sent.pending_hits(
        engine,
        rule.name,
        rule.topics,
        when - lookback(rule),
        None,
        now,
        rule.originals_only,
        rule.review,
    )
    return when, [r for r in found if distinct_terms(r, rule.topics) >= rule.min_terms]


def _send_hits(
    engine: Engine,
    alerts: Alerts,
    rule: AlertRule,
    now: datetime,
    send: Sender,
    public_url: str | None,
    report: Report,
) -> None:
    records = due_hits(engine, rule, now)
    if not records:
        return
    if rule.mode == "digest" or len(records) > IMMEDIATE_EACH:
        # Mail and chat services cap a message's size: a long digest goes out in parts.
        batches = [records[i : i + MESSAGE_MOST] for i in range(0, len(records), MESSAGE_MOST)]
    else:
        batches = [[record] for record in records]
    for number, batch in enumerate(batches):
        error = send(alerts.channels_of(rule), render(rule, batch, public_url))
        # A channel that failed is not tried again with the next messages (each would wait
        # for its timeout): they all fail with it and are retried together.
        failed = [r for rest in batches[number:] for r in rest] if error else batch
        alerts_sent.record_deliveries(engine, rule.name, [r["id"] for r in failed], now, error)
        _count(report, rule, error, len(batch))
        if error:
            break


def _count(report: Report, rule: AlertRule, error: str | None, articles: int = 0) -> None:
    if error is None:
        report.sent[rule.name] = report.sent.get(rule.name, 0) + 1
        logger.info("Alert %s: sent%s", rule.name, f" ({articles} articles)" if articles else "")
    else:
        report.failed[rule.name] = error
        logger.warning("Alert %s: sending failed, retried later: %s", rule.name, error)


def _event_message(subject: str, lines: list[str]) -> Message:
    from markupsafe import escape

    html = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return Message(subject=subject, text="\n".join(lines) + "\n", html=html)


def _send_event(
    engine: Engine,
    alerts: Alerts,
    rule: AlertRule,
    event: str,
    message: Message,
    now: datetime,
    send: Sender,
    report: Report,
) -> None:
    if not alerts_sent.event_due(engine, rule.name, event, now):
        return
    error = send(alerts.channels_of(rule), message)
    alerts_sent.record_event(engine, rule.name, event, now, error)
    _count(report, rule, error)


def spikes(
    engine: Engine, rule: AlertRule, topics: list[str], now: datetime
) -> list[tuple[str, int, float, float]]:
    """The topics whose count of articles today (in the rule's time zone) lies above the mean
    of the 14 days before plus three standard deviations, and reaches `min_articles`:
    (topic, today, mean, standard deviation). A topic with less history than that is never
    a spike."""
    local = now.astimezone(rule.zone)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=n) for n in range(SPIKE_DAYS, -1, -1)]
    bounds = [day.astimezone(UTC) for day in days] + [now]
    counts, first = alerts_sent.daily_counts(engine, rule.topics or topics, bounds)
    if first is None or first > bounds[0]:
        return []  # less than 14 days of history
    found = []
    for topic, series in counts.items():
        past, count = series[:-1], series[-1]
        mean, spread = statistics.fmean(past), statistics.pstdev(past)
        if count >= rule.min_articles and count > mean + SPIKE_SIGMAS * spread:
            found.append((topic, count, mean, spread))
    return found


def _send_spikes(
    engine: Engine, config: Config, rule: AlertRule, now: datetime, send: Sender, report: Report
) -> None:
    day = now.astimezone(rule.zone).date().isoformat()
    for topic, count, mean, spread in spikes(engine, rule, [t.name for t in config.topics], now):
        lines = [
            f"Topic {topic}: {count} articles today ({day}), against {mean:.1f} a day "
            f"(standard deviation {spread:.1f}) over the {SPIKE_DAYS} days before.",
        ]
        if config.settings.public_url:
            address = config.settings.public_url.rstrip("/")
            lines.append(f"Hits: {address}/hits?{urlencode({'topic': topic})}")
        message = _event_message(f"Spike: {topic}, {count} articles today", lines)
        _send_event(engine, config.alerts, rule, f"spike {topic} {day}", message, now, send, report)


def _send_health(
    engine: Engine, config: Config, rule: AlertRule, now: datetime, send: Sender, report: Report
) -> None:
    """A source turning FAILING or SILENT, once per change: the event is keyed by the last
    success (FAILING) or the last new article (SILENT), which stay put while the flag holds."""
    from crawler.config.settings import parse_duration

    silent_after = timedelta(seconds=parse_duration(config.settings.silent_after))
    rows = CrawlState(engine).all()
    for source in config.enabled_sources():
        row = rows.get(source.name)
        if row is None:
            continue
        flags = source_flags(row, True, now, silent_after)
        for flag in rule.flags:
            if flag not in flags:
                continue
            since = row["last_success_at"] if flag == "FAILING" else row["last_new_at"]
            mark = since.isoformat() if since else "never"
            if flag == "FAILING":
                detail = f"{row.get('consecutive_failures')} failed passes in a row: "
                detail += str(row.get("last_error") or "")
            else:
                detail = f"no new article since {mark}"
            lines = [f"Source {source.name} is {flag}: {detail}", f"Source URL: {source.url}"]
            message = _event_message(f"Source {source.name}: {flag}", lines)
            event = f"health {source.name} {flag} {mark}"
            _send_event(engine, config.alerts, rule, event, message, now, send, report)


def send_due(
    engine: Engine,
    config: Config,
    now: datetime | None = None,
    send: Sender = apprise_send,
) -> Report:
    """Send what every rule owes at `now`. A rule that fails is logged and the others go on."""
    now = now or datetime.now(UTC)
    report = Report()
    with alerts_sent.sole_sender(engine) as sole:
        if not sole:
            report.busy = True  # another process sharing the store is sending them
            return report
        for rule in config.alerts.rules:
            _send_rule(engine, config, rule, now, send, report)
    return report


def _send_rule(
    engine: Engine, config: Config, rule: AlertRule, now: datetime, send: Sender, report: Report
) -> None:
    """What one rule owes at `now`; an error stops this rule only, logged and reported."""
    if in_quiet_hours(rule, now):
        report.held.append(rule.name)
        return  # held: what it owes goes out when its quiet hours end
    try:
        if rule.kind == "hits":
            _send_hits(engine, config.alerts, rule, now, send, config.settings.public_url, report)
        elif rule.kind == "spike":
            _send_spikes(engine, config, rule, now, send, report)
        else:
            _send_health(engine, config, rule, now, send, report)
    except Exception as exc:  # noqa: BLE001 - a template or store error stops one rule only
        logger.exception("Alert %s: cannot be sent", rule.name)
        report.failed[rule.name] = (
            f"{type(exc).__name__}: {scrub(str(exc), [c.url for c in config.alerts.channels])}"
        )
