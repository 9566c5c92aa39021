"""Crontab expressions with standard cron semantics, as APScheduler triggers.

APScheduler 3 counts weekdays from Monday = 0, while crontab counts from Sunday = 0 (and 7), so
`from_crontab("0 6 * * 1-5")` would fire Tuesday to Saturday. Numeric weekdays are turned into
names here before APScheduler sees them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from apscheduler.triggers.cron import CronTrigger

__all__ = ["HORIZON", "cron_trigger", "next_fire"]

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# A schedule must fire within this horizon: four years and a day reach every 29 February.
HORIZON = timedelta(days=4 * 365 + 2)


def _weekdays(field: str) -> str:
    if field == "*" or any(ch.isalpha() for ch in field):
        return field  # names mean the same in both
    days: set[int] = set()
    for part in field.split(","):
        spec, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if spec == "*":
            low, high = 0, 6
        elif "-" in spec:
            low_text, high_text = spec.split("-", 1)
            low, high = int(low_text), int(high_text)
        else:
            low = high = int(spec)
        if not (0 <= low <= 7 and 0 <= high <= 7 and low <= high and step > 0):
            raise ValueError(f"weekday out of range 0-7 (Sunday is 0 or 7): {part!r}")
        days.update(day % 7 for day in range(low, high + 1, step))
    return ",".join(DAY_NAMES[day] for day in sorted(days))


def cron_trigger(
    expression: str, timezone: tzinfo | str = "UTC", end: datetime | None = None
) -> CronTrigger:
    """A trigger for a five-field crontab expression, firing no later than `end` when given.
    Raises ValueError when it is not one."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekdays(weekday),
        timezone=timezone,
        end_date=end,
    )


def next_fire(expression: str, after: datetime, timezone: tzinfo | str = "UTC") -> datetime | None:
    """The first time `expression` fires a second or more after `after`, or None when it does
    not fire within HORIZON (`* * 31 2 *`: there is no 31 February). The horizon also bounds
    the search: unbounded, APScheduler walks years ahead before giving up."""
    trigger = cron_trigger(expression, timezone, end=after + HORIZON)
    return trigger.get_next_fire_time(None, after + timedelta(seconds=1))  # strictly after
