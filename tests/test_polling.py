"""Scheduling arithmetic against a controllable clock: intervals, cron, jitter bounds,
adaptive intervals, back-off, Retry-After and coalesced catch-up runs. Nothing sleeps."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from crawler.config.files import Source, load_config
from crawler.config.settings import Settings
from crawler.schedule.polling import (
    Outcome,
    Policy,
    adapt,
    backoff,
    first_run,
    next_run,
    policy_for,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HOUR = 3600.0
POLICY = Policy(every=HOUR, min_every=300, max_every=6 * HOUR, max_backoff=24 * HOUR, jitter=0.1)
NO_JITTER = Policy(every=HOUR, min_every=300, max_every=6 * HOUR, max_backoff=24 * HOUR, jitter=0)


def seconds_until(moment: datetime) -> float:
    return (moment - NOW).total_seconds()


def test_interval_without_jitter() -> None:
    when = next_run(NO_JITTER, HOUR, 0, None, NOW, random.Random(1))
    assert seconds_until(when) == HOUR


def test_jitter_stays_within_bounds_and_varies() -> None:
    rng = random.Random(7)
    delays = [seconds_until(next_run(POLICY, HOUR, 0, None, NOW, rng)) for _ in range(500)]
    assert all(HOUR <= delay <= HOUR * 1.1 for delay in delays)
    assert max(delays) - min(delays) > HOUR * 0.05  # sources do not all fire together


def test_cron() -> None:
    weekdays = Policy(
        every=HOUR,
        min_every=300,
        max_every=6 * HOUR,
        max_backoff=24 * HOUR,
        jitter=0,
        cron="0 6-22 * * 1-5",
    )
    friday_noon = NOW  # 2026-11-27 is a Friday
    assert next_run(weekdays, HOUR, 0, None, friday_noon, random.Random()) == NOW.replace(hour=13)
    friday_late = NOW.replace(hour=22, minute=30)
    monday = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert next_run(weekdays, HOUR, 0, None, friday_late, random.Random()) == monday


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (Outcome("ok", entries=20, new=0), HOUR * 1.5),  # nothing new: slower
        (Outcome("not_modified"), HOUR * 1.5),
        (Outcome("unchanged"), HOUR * 1.5),
        (Outcome("ok", entries=20, new=15), HOUR * 0.5),  # mostly new: entries may be missed
        (Outcome("ok", entries=20, new=5), HOUR),  # some new: keep
        (Outcome("error", "HTTP 500"), HOUR),  # failures back off separately
    ],
)
def test_adaptive_interval(outcome: Outcome, expected: float) -> None:
    assert adapt(POLICY, HOUR, outcome) == expected


def test_adaptive_interval_stays_within_bounds() -> None:
    interval = HOUR
    for _ in range(20):
        interval = adapt(POLICY, interval, Outcome("not_modified"))
    assert interval == 6 * HOUR
    for _ in range(20):
        interval = adapt(POLICY, interval, Outcome("ok", entries=10, new=10))
    assert interval == 300


def test_bounds_include_the_sources_own_interval() -> None:
    fast = Policy(every=2, min_every=300, max_every=6 * HOUR, max_backoff=HOUR)
    assert adapt(fast, 2, Outcome("ok", entries=10, new=10)) == 2


def test_not_adaptive_keeps_interval() -> None:
    fixed = Policy(every=HOUR, min_every=300, max_every=6 * HOUR, max_backoff=HOUR, adaptive=False)
    assert adapt(fixed, HOUR, Outcome("not_modified")) == HOUR


def test_backoff_doubles_and_is_bounded() -> None:
    assert [backoff(POLICY, 600, n) for n in range(5)] == [600, 1200, 2400, 4800, 9600]
    assert backoff(POLICY, 600, 30) == 24 * HOUR
    assert backoff(POLICY, 600, 10_000) == 24 * HOUR  # no overflow


def test_failing_then_recovering() -> None:
    rng = random.Random(0)
    delays = [seconds_until(next_run(NO_JITTER, HOUR, n, None, NOW, rng)) for n in (1, 2, 3)]
    assert delays == [2 * HOUR, 4 * HOUR, 8 * HOUR]
    # Back at its regular interval once a pass succeeds (failures reset to 0).
    assert seconds_until(next_run(NO_JITTER, HOUR, 0, None, NOW, rng)) == HOUR


def test_retry_after_is_honoured_and_capped() -> None:
    rng = random.Random(0)
    assert seconds_until(next_run(NO_JITTER, 60, 1, 7200, NOW, rng)) == 7200
    assert seconds_until(next_run(NO_JITTER, 60, 1, 10 * 86400, NOW, rng)) == 24 * HOUR


def test_missed_runs_coalesce_into_one_prompt_pass() -> None:
    rng = random.Random(3)
    long_ago = NOW - timedelta(days=3)  # down for three days: 72 hourly runs missed
    when = first_run(long_ago, NOW, POLICY, HOUR, rng)
    assert NOW <= when <= NOW + timedelta(seconds=6)  # one catch-up pass, soon
    future = NOW + timedelta(minutes=20)
    assert first_run(future, NOW, POLICY, HOUR, rng) == future  # a planned run is kept
    assert NOW <= first_run(None, NOW, POLICY, HOUR, rng) <= NOW + timedelta(seconds=6)


def test_policy_from_config(tmp_path) -> None:
    directory = tmp_path / "c"
    directory.mkdir()
    (directory / "settings.yaml").write_text("every: 2h\nmin_every: 10m\njitter: 0.2\n")
    (directory / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: a, url: 'https://e.org/a'}\n"
        "  - {name: b, url: 'https://e.org/b', every: 15m, max_every: 1h, adaptive: false}\n"
        "  - {name: c, url: 'https://e.org/c', cron: '0 6-22 * * 1-5'}\n"
    )
    (directory / "topics.yaml").write_text("topics: []\n")
    config = load_config(directory)
    settings: Settings = config.settings
    a, b, c = (policy_for(source, settings) for source in config.sources)
    assert (a.every, a.min_every, a.max_every, a.jitter, a.adaptive) == (
        7200,
        600,
        21600,
        0.2,
        True,
    )
    assert (b.every, b.max_every, b.adaptive) == (900, 3600, False)
    assert c.cron == "0 6-22 * * 1-5"
    assert isinstance(config.sources[0], Source)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 6 * * 0", NOW, datetime(2026, 11, 29, 6, 0, tzinfo=UTC)),  # Sunday is 0
        ("0 6 * * 7", NOW, datetime(2026, 11, 29, 6, 0, tzinfo=UTC)),  # and 7
        ("0 6 * * 6", NOW, datetime(2026, 11, 28, 6, 0, tzinfo=UTC)),  # Saturday
        ("0 6 * * sat", NOW, datetime(2026, 11, 28, 6, 0, tzinfo=UTC)),
        ("30 */4 * * *", NOW, datetime(2026, 11, 27, 12, 30, tzinfo=UTC)),
        ("0 9 * * 1,3", NOW, datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),  # Mon, Wed
    ],
)
def test_crontab_semantics(expression: str, after: datetime, expected: datetime) -> None:
    policy = Policy(
        every=HOUR,
        min_every=300,
        max_every=6 * HOUR,
        max_backoff=24 * HOUR,
        jitter=0,
        cron=expression,
    )
    assert next_run(policy, HOUR, 0, None, after, random.Random()) == expected


@pytest.mark.parametrize("expression", ["0 6 * *", "0 6 * * 8", "61 * * * *", "0 6 * * 5-1"])
def test_bad_crontab(expression: str) -> None:
    from crawler.schedule.cron import cron_trigger

    with pytest.raises(ValueError):
        cron_trigger(expression)


def test_max_backoff_is_the_longest_wait_jitter_included() -> None:
    """A newcomer saw "next in 26.3h" with max_backoff 1d: jitter came after the cap."""
    rng = random.Random(5)
    for failures in (5, 6, 30):
        delays = [
            seconds_until(next_run(POLICY, HOUR, failures, None, NOW, rng)) for _ in range(300)
        ]
        assert max(delays) <= 24 * HOUR
        assert min(delays) >= 24 * HOUR * 0.9  # still spread: failing sources do not align
        assert max(delays) - min(delays) > HOUR
    # Below the cap, jitter is added as usual.
    below = [seconds_until(next_run(POLICY, HOUR, 2, None, NOW, rng)) for _ in range(300)]
    assert all(4 * HOUR <= delay <= 4.4 * HOUR for delay in below)
    # A regular interval longer than max_backoff bounds the wait after failures instead.
    slow = Policy(every=48 * HOUR, min_every=300, max_every=48 * HOUR, max_backoff=24 * HOUR)
    waits = [seconds_until(next_run(slow, 48 * HOUR, 3, None, NOW, rng)) for _ in range(100)]
    assert all(48 * HOUR * 0.9 <= wait <= 48 * HOUR for wait in waits)


def test_a_cron_that_never_fires_raises_schedule_error() -> None:
    from crawler.schedule.polling import ScheduleError

    february = Policy(
        every=HOUR, min_every=300, max_every=6 * HOUR, max_backoff=24 * HOUR, cron="* * 31 2 *"
    )
    with pytest.raises(ScheduleError, match="never fires"):
        next_run(february, HOUR, 0, None, NOW, random.Random())
    # Back-off after failures does not consult the expression: it stays computable.
    assert seconds_until(next_run(february, HOUR, 1, None, NOW, random.Random())) <= 2.2 * HOUR
