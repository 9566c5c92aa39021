"""Crontab expressions (crawler/schedule/cron.py) read as cron(8) reads them: the examples of
crontab(5), the day-of-month OR day-of-week rule, Sunday as 0 and 7, steps, names, aliases,
and one readable error for what is not crontab."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from crawler.schedule.cron import CrontabTrigger, cron_trigger, next_fire

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday


def fires(expression: str, count: int = 6, after: datetime = NOW) -> list[str]:
    """The next `count` fire times after `after`, as 'Mon 11-30 06:00' (UTC)."""
    times = []
    for _ in range(count):
        fire = next_fire(expression, after)
        assert fire is not None
        times.append(fire.astimezone(UTC).strftime("%a %m-%d %H:%M"))
        after = fire
    return times


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    # crontab(5): "30 4 1,15 * 5" runs at 4:30 am on the 1st and 15th of each month, plus
    # every Friday. APScheduler required both: Fridays falling on a 1st or a 15th.
    assert fires("30 4 1,15 * 5") == [
        "Tue 12-01 04:30",
        "Fri 12-04 04:30",
        "Fri 12-11 04:30",
        "Tue 12-15 04:30",
        "Fri 12-18 04:30",
        "Fri 12-25 04:30",
    ]
    # Every Monday and on the 1st.
    assert fires("0 6 1 * 1", 4) == [
        "Mon 11-30 06:00",
        "Tue 12-01 06:00",
        "Mon 12-07 06:00",
        "Mon 12-14 06:00",
    ]


def test_a_day_field_starting_with_a_star_is_unrestricted() -> None:
    # cron(8) ORs only when neither field starts with `*`: `*/2` days that are Mondays.
    assert fires("0 0 */2 * 1", 3) == ["Mon 12-07 00:00", "Mon 12-21 00:00", "Mon 01-11 00:00"]
    assert fires("0 0 13 * *", 2) == ["Sun 12-13 00:00", "Wed 01-13 00:00"]
    assert fires("0 0 * * 5", 2) == ["Fri 12-04 00:00", "Fri 12-11 00:00"]


def test_steps() -> None:
    # crontab(5): "0 */2 * * *" is every two hours, on the hour.
    assert fires("0 */2 * * *", 3) == ["Fri 11-27 14:00", "Fri 11-27 16:00", "Fri 11-27 18:00"]
    # Every quarter of an hour from 9 to 17:45 on weekdays.
    assert fires("*/15 9-17 * * 1-5", 3) == [
        "Fri 11-27 12:15",
        "Fri 11-27 12:30",
        "Fri 11-27 12:45",
    ]
    late = NOW.replace(hour=17, minute=45)
    assert fires("*/15 9-17 * * 1-5", 2, late) == ["Mon 11-30 09:00", "Mon 11-30 09:15"]
    assert fires("5/20 * * * *", 3) == ["Fri 11-27 12:05", "Fri 11-27 12:25", "Fri 11-27 12:45"]
    assert fires("0 6 1-10/3 * *", 4) == [
        "Tue 12-01 06:00",
        "Fri 12-04 06:00",
        "Mon 12-07 06:00",
        "Thu 12-10 06:00",
    ]
    assert fires("0 6 * * */3", 3) == ["Sat 11-28 06:00", "Sun 11-29 06:00", "Wed 12-02 06:00"]


@pytest.mark.parametrize(
    "expression", ["0 0 * * sun", "0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 * * 7-7"]
)
def test_sunday_is_0_or_7(expression: str) -> None:
    assert fires(expression, 2) == ["Sun 11-29 00:00", "Sun 12-06 00:00"]


@pytest.mark.parametrize(
    ("expression", "days"),
    [
        ("0 6 * * 1-5", ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]),
        ("0 6 * * mon-fri", ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]),
        ("0 6 * * 5-7", ["Sat", "Sun", "Fri", "Sat", "Sun", "Fri"]),
        ("0 6 * * fri-sun", ["Sat", "Sun", "Fri", "Sat", "Sun", "Fri"]),
        ("0 6 * * 1,sun", ["Sun", "Mon", "Sun", "Mon", "Sun", "Mon"]),  # APScheduler: Tuesday
        ("0 6 * * 1-7/2", ["Sun", "Mon", "Wed", "Fri", "Sun", "Mon"]),
        ("0 6 * * mon-sun", ["Sat", "Sun", "Mon", "Tue", "Wed", "Thu"]),
    ],
)
def test_weekdays(expression: str, days: list[str]) -> None:
    assert [fire[:3] for fire in fires(expression)] == days


@pytest.mark.parametrize(
    ("expression", "same_as"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("0 6 last * *", "0 6 L * *"),
        ("0 6 * JAN-mar *", "0 6 * 1-3 *"),
    ],
)
def test_aliases_and_names(expression: str, same_as: str) -> None:
    assert fires(expression, 3) == fires(same_as, 3)


def test_last_day_of_the_month() -> None:
    assert fires("0 6 last * *", 4) == [
        "Mon 11-30 06:00",
        "Thu 12-31 06:00",
        "Sun 01-31 06:00",
        "Sun 02-28 06:00",
    ]


def test_a_day_that_never_comes_never_fires() -> None:
    assert next_fire("* * 31 2 *", NOW) is None
    assert next_fire("0 0 30 2 *", NOW) is None
    assert fires("0 0 29 2 *", 2) == ["Tue 02-29 00:00", "Sun 02-29 00:00"]  # 2028, 2032


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 6 * *", "expected 5 fields"),
        ("0 0 1 1 * 2030", "expected 5 fields"),
        ("@reboot", "expected 5 fields"),
        ("0 6 * * 8", "day of week '8' out of range 0-7"),
        ("61 * * * *", "minute '61' out of range 0-59"),
        ("0 24 * * *", "hour '24' out of range 0-23"),
        ("0 6 0 * *", "day of month '0' out of range 1-31"),
        ("0 6 * 13 *", "month '13' out of range 1-12"),
        ("0 6 * * 5-1", "day of week range '5-1' runs backwards"),
        ("0 6 * * fri-mon", "day of week range 'fri-mon' runs backwards"),
        ("0 6 * dec-jan *", "month range 'dec-jan' runs backwards"),
        ("0 6 * * 1-5/0", "step of 0"),
        ("0 6 * * monday", "day of week 'monday' is neither a number nor a name"),
        ("0 6 * jan-fri *", "month 'fri' is neither a number nor a name"),
        ("H 6 * * *", "minute 'H' is neither a number nor a name"),
        ("0 6 ? * *", "day of month '?' is not a value, a range or a step"),
        ("0 6 * * 5#3", "day of week '5#3' is not a value, a range or a step"),
        ("0 6 1,,2 * *", "day of month '' is not a value"),
    ],
)
def test_what_is_not_crontab_is_named(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        cron_trigger(expression)


def test_the_timezone_the_expression_is_read_in() -> None:
    paris = next_fire("0 6 * * *", NOW, "Europe/Paris")  # CET, UTC+1 in November
    assert paris == datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
    # The summer time change: 6:00 in Paris is 4:00 UTC from 29 March 2026.
    spring = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert next_fire("0 6 * * *", spring, "Europe/Paris") == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)


def test_trigger_at_or_after_now_and_after_the_previous_fire() -> None:
    trigger = CrontabTrigger("0 6 * * *")
    six = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, six) == six  # due now
    assert trigger.get_next_fire_time(six, six) == six + timedelta(days=1)
    # A run missed while the process was down: the scheduler decides, so it is returned.
    later = six + timedelta(days=2, hours=1)
    assert trigger.get_next_fire_time(six, later) == six + timedelta(days=1)
    bounded = CrontabTrigger("0 6 * * *", end=six + timedelta(hours=12))
    assert bounded.get_next_fire_time(six, six) is None


def test_apscheduler_runs_the_trigger() -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)
    try:
        job = scheduler.add_job(print, CrontabTrigger("30 4 1,15 * 5"), id="j")
        fire = job.next_run_time
        assert fire is not None
        assert fire.minute == 30 and fire.hour == 4
        assert fire.day in (1, 15) or fire.weekday() == 4  # Friday
        assert str(job.trigger) == "cron[30 4 1,15 * 5]"
    finally:
        scheduler.shutdown(wait=False)
