"""Crontab expressions read as cron(8) reads them, as an APScheduler trigger.

Part of the schedule stage: a source's `cron` replaces its polling interval, and
`crawler.schedule.polling.next_run` asks `next_fire` when it is due. croniter computes the
times; this module checks the expression and applies cron(8)'s day rule.

- Day of month and day of week: when both are restricted (neither starts with `*`), a day
  that matches either fires (`30 4 1,15 * 5`: the 1st, the 15th and every Friday); otherwise
  both must match. APScheduler's own CronTrigger always requires both.
- Sunday is 0 or 7; names (`mon`, `jan`) in any case; ranges, lists and steps; `@daily` and
  the other aliases of crontab(5) except `@reboot`; `last` (or `L`) as day of month, which
  APScheduler accepted before croniter computed the times.
- A range must not run backwards (`5-1`): croniter would wrap it around, cron rejects it.
  The day of week is expanded to a list before croniter sees it, as croniter 7.0 reads `7-7`
  as every day.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.util import astimezone
from croniter import CroniterBadDateError, CroniterError, croniter

__all__ = ["HORIZON", "CrontabTrigger", "cron_trigger", "next_fire"]

# A schedule must fire within this horizon: four years and a day reach every 29 February.
HORIZON = timedelta(days=4 * 365 + 2)

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names counted from the lowest) of the five fields, in order.
FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),
)
_PART = re.compile(r"(?P<range>\*|(?P<low>\w+)(?:-(?P<high>\w+))?)(?:/(?P<step>\d+))?", re.ASCII)
# croniter searches this many years for a day that exists before it gives up (the horizon).
_SEARCH_YEARS = HORIZON.days // 365 + 1


def _value(text: str, field: int, names: tuple[str, ...], end_of_range: bool) -> int:
    name, low, high, _ = FIELDS[field]
    if text.isdigit():
        value = int(text)
    elif text.lower() in names:
        value = names.index(text.lower()) + low
        if names is DAYS and end_of_range and value == 0:
            value = 7  # `mon-sun`: Sunday ends the week here
    else:
        raise ValueError(f"{name} {text!r} is neither a number nor a name")
    if not low <= value <= high:
        raise ValueError(f"{name} {text!r} out of range {low}-{high}")
    return value


def _values(part: str, field: int) -> list[int]:
    """The values one comma-separated part of a field stands for; ValueError when it is
    not valid crontab."""
    name, low, high, names = FIELDS[field]
    match = _PART.fullmatch(part)
    if match is None:
        raise ValueError(f"{name} {part!r} is not a value, a range or a step")
    step = int(match["step"]) if match["step"] else 1
    if step == 0:
        raise ValueError(f"{name} {part!r} has a step of 0")
    if match["range"] == "*":
        first, last = low, high
    else:
        first = _value(match["low"], field, names, end_of_range=False)
        last = first
        if match["high"] is not None:
            last = _value(match["high"], field, names, end_of_range=True)
        elif match["step"]:
            last = high  # `5/10` is `5-59/10` to cron
        if first > last:
            raise ValueError(f"{name} range {part!r} runs backwards")
    return list(range(first, last + 1, step))


def _fields(expression: str) -> tuple[list[str], bool]:
    """The five fields croniter is given, and whether a day matching either day field fires
    (cron(8): when both are restricted). ValueError when `expression` is not crontab."""
    text = ALIASES.get(expression.strip().lower(), expression)
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    if fields[2].lower() in ("last", "l"):
        fields[2] = "L"
    else:
        for part in fields[2].split(","):
            _values(part, 2)
    for field in (0, 1, 3):
        for part in fields[field].split(","):
            _values(part, field)
    weekdays = sorted({day % 7 for part in fields[4].split(",") for day in _values(part, 4)})
    day_or = not fields[2].startswith("*") and not fields[4].startswith("*")
    if not fields[4].startswith("*"):
        fields[4] = ",".join(map(str, weekdays))
    return fields, day_or


class CrontabTrigger(BaseTrigger):
    """Fires when a five-field crontab expression does, read in `timezone`, and not after
    `end` when given. ValueError on construction when the expression is not crontab."""

    __slots__ = ("day_or", "end", "expression", "fields", "timezone")

    def __init__(
        self, expression: str, timezone: tzinfo | str = "UTC", end: datetime | None = None
    ) -> None:
        self.expression = expression
        self.fields, self.day_or = _fields(expression)
        self.timezone = astimezone(timezone)
        self.end = end
        try:
            croniter(" ".join(self.fields), day_or=self.day_or)
        except CroniterError as exc:  # what the checks above let through
            raise ValueError(str(exc)) from None

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The first time the expression fires at or after `now` (or just after the previous
        fire time when that is earlier: the scheduler decides about missed runs)."""
        start = now
        if previous_fire_time is not None:  # as APScheduler's CronTrigger does
            start = min(now, previous_fire_time + timedelta(microseconds=1))
            if start == previous_fire_time:
                start += timedelta(microseconds=1)
        base = start.astimezone(self.timezone) - timedelta(microseconds=1)  # croniter: after
        schedule = croniter(
            " ".join(self.fields),
            base,
            day_or=self.day_or,
            max_years_between_matches=_SEARCH_YEARS,
        )
        try:
            fire: datetime = schedule.get_next(datetime)
        except CroniterBadDateError:  # no such day (31 February) within the search
            return None
        if self.end is not None and fire > self.end:
            return None
        return fire

    def __str__(self) -> str:
        return f"cron[{self.expression}]"

    def __repr__(self) -> str:
        return f"<CrontabTrigger ({self.expression!r}, timezone={self.timezone!s})>"


def cron_trigger(
    expression: str, timezone: tzinfo | str = "UTC", end: datetime | None = None
) -> CrontabTrigger:
    """A trigger for a five-field crontab expression, firing no later than `end` when given.
    Raises ValueError when it is not one."""
    return CrontabTrigger(expression, timezone, end)


def next_fire(expression: str, after: datetime, timezone: tzinfo | str = "UTC") -> datetime | None:
    """The first time `expression` fires a second or more after `after`, or None when it does
    not fire within HORIZON (`* * 31 2 *`: there is no 31 February)."""
    trigger = cron_trigger(expression, timezone, end=after + HORIZON)
    return trigger.get_next_fire_time(None, after + timedelta(seconds=1))  # strictly after
