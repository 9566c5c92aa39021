"""When an alert rule may send: its quiet hours and its digest times. Pure arithmetic on an
aware `now` passed in, so tests drive it with a controllable clock.

Part of the alerts stage (review side of the flow); `crawler.alerts.deliver` asks it each
time `newsmon run` checks for alerts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crawler.config.alerts import AlertRule

__all__ = ["digest_slot", "in_quiet_hours", "lookback", "next_digest"]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def in_quiet_hours(rule: AlertRule, now: datetime) -> bool:
    """Whether `now` lies within the rule's quiet hours (read in its time zone); the end is
    excluded, and a span like 22:00-07:00 runs past midnight."""
    if rule.quiet_hours is None:
        return False
    start, end = rule.quiet_hours
    clock = now.astimezone(rule.zone).time().replace(tzinfo=None)
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def digest_slot(rule: AlertRule, now: datetime) -> datetime:
    """The latest digest time at or before `now` (UTC): the top of the hour for an hourly
    digest, the day's `HH:MM` in the rule's time zone for a daily one (yesterday's when today's
    is still to come). Articles fetched before it belong to that digest."""
    local = now.astimezone(rule.zone)
    at = rule.digest_at
    if at is None:
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    slot = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if slot > local:
        # The day before at the same wall-clock time, which a DST change may shift by an hour.
        day = (local - DAY).date()
        slot = datetime(day.year, day.month, day.day, at.hour, at.minute, tzinfo=rule.zone)
    return slot.astimezone(UTC)


def next_digest(rule: AlertRule, now: datetime) -> datetime:
    """The first digest time after `now` (UTC)."""
    slot = digest_slot(rule, now)
    if rule.digest_at is None:
        return slot + HOUR
    local = slot.astimezone(rule.zone)
    day = (local + DAY).date()
    at = rule.digest_at
    return datetime(day.year, day.month, day.day, at.hour, at.minute, tzinfo=rule.zone).astimezone(
        UTC
    )


def lookback(rule: AlertRule) -> timedelta:
    """How far back a rule looks for articles it has not sent: a day (two for a daily digest),
    so a new rule, or one back from quiet hours or an outage, sends what it missed, not the
    whole archive."""
    return 2 * DAY if rule.digest_at is not None else DAY
