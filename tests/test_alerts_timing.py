"""When an alert rule may send: quiet hours and digest times in the rule's zone, across
midnight and daylight-saving changes. Pure arithmetic on a clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from crawler.alerts.timing import digest_slot, in_quiet_hours, next_digest
from crawler.config.alerts import AlertRule


def rule(**fields: object) -> AlertRule:
    return AlertRule(name="r", channels=("c",), **fields)


@pytest.mark.parametrize(
    ("clock", "quiet"),
    [
        ("21:59", False),
        ("22:00", True),
        ("23:30", True),
        ("00:10", True),
        ("06:59", True),
        ("07:00", False),
        ("12:00", False),
    ],
)
def test_quiet_hours_across_midnight_in_the_rules_zone(clock: str, quiet: bool) -> None:
    paris = rule(quiet_hours=(time(22), time(7)), timezone="Europe/Paris")
    hours, minutes = map(int, clock.split(":"))
    local = datetime(2026, 12, 3, hours, minutes, tzinfo=paris.zone)
    assert in_quiet_hours(paris, local.astimezone(UTC)) is quiet


def test_quiet_hours_within_a_day() -> None:
    lunch = rule(quiet_hours=(time(12), time(14)))
    assert in_quiet_hours(lunch, datetime(2026, 12, 3, 13, tzinfo=UTC))
    assert not in_quiet_hours(lunch, datetime(2026, 12, 3, 14, tzinfo=UTC))
    assert not in_quiet_hours(rule(), datetime(2026, 12, 3, 13, tzinfo=UTC))


def test_hourly_digest() -> None:
    hourly = rule(mode="digest", digest="hourly")
    now = datetime(2026, 12, 3, 9, 59, 59, tzinfo=UTC)
    assert digest_slot(hourly, now) == datetime(2026, 12, 3, 9, tzinfo=UTC)
    assert next_digest(hourly, now) == datetime(2026, 12, 3, 10, tzinfo=UTC)


def test_daily_digest_keeps_its_wall_clock_time_across_dst() -> None:
    paris = rule(mode="digest", digest="daily 08:00", timezone="Europe/Paris")
    # Summer time ends on 2026-10-25: 08:00 in Paris is 06:00 UTC before, 07:00 UTC after.
    before = datetime(2026, 10, 24, 12, tzinfo=UTC)
    assert digest_slot(paris, before) == datetime(2026, 10, 24, 6, tzinfo=UTC)
    assert next_digest(paris, before) == datetime(2026, 10, 25, 7, tzinfo=UTC)
    early = datetime(2026, 10, 25, 6, 30, tzinfo=UTC)  # 07:30 in Paris: yesterday's slot
    assert digest_slot(paris, early) == datetime(2026, 10, 24, 6, tzinfo=UTC)
    assert digest_slot(paris, early + timedelta(minutes=30)) == datetime(
        2026, 10, 25, 7, tzinfo=UTC
    )
