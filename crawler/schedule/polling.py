"""When to poll each source next: pure scheduling arithmetic, no clock and no I/O.

Between config and spiders in the flow. `newsmon run` asks `next_delay` after every pass; the
answer depends on the source's policy (fixed interval or cron, adaptive or not), what the pass
found, failures in a row and the site's own `Retry-After`. Time always comes in as an argument,
so tests drive it with a controllable clock.

Adaptive polling (on by default for feeds) follows Media Cloud's rss-fetcher: a pass that
finds nothing new lengthens the interval by half; a pass whose entries were mostly new (so
entries may have been missed between polls) halves it; otherwise it stays. Bounds: `min_every`
and `max_every`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crawler.config.files import Source
from crawler.config.settings import Settings, parse_duration
from crawler.errors import ScheduleError
from crawler.schedule.cron import next_fire

__all__ = [
    "Outcome",
    "Policy",
    "ScheduleError",
    "adapt",
    "backoff",
    "bounds",
    "first_run",
    "next_run",
    "policy_for",
]

GROWTH = 1.5  # nothing new: poll this much less often
SHRINK = 0.5  # mostly new: poll this much more often
MOSTLY_NEW = 0.5  # share of new entries above which entries may have been missed


@dataclass(frozen=True)
class Policy:
    every: float  # seconds: the starting interval
    min_every: float
    max_every: float
    max_backoff: float  # the longest wait after failures, jitter included
    jitter: float = 0.1  # up to this share of the interval is added at random
    adaptive: bool = True
    cron: str | None = None  # a crontab expression replaces the interval


def policy_for(source: Source, settings: Settings) -> Policy:
    """A source's own values where it has them, else the settings' defaults."""
    return Policy(
        every=parse_duration(source.every or settings.every),
        min_every=parse_duration(source.min_every or settings.min_every),
        max_every=parse_duration(source.max_every or settings.max_every),
        max_backoff=parse_duration(settings.max_backoff),
        jitter=settings.jitter,
        adaptive=source.adaptive,
        cron=source.cron,
    )


@dataclass(frozen=True)
class Outcome:
    """What a pass of one source found: recorded in the store, and the input of `adapt`."""

    status: str  # ok, not_modified, unchanged, error or interrupted
    summary: str = ""  # one line for people: "12 entries, 3 new", "HTTP 404"...
    entries: int = 0
    new: int = 0
    problem: str | None = None  # a defect the feed parser recovered from
    retry_after: float | None = None  # seconds the site asked us to wait (429, 503)
    failed: int = 0  # articles of the pass that failed (their links stay owed)
    failure: str | None = None  # "104 of 120 articles failed (HTTP 503)": the commonest reason
    # Search feeds: new entries by how they reached the publisher's article, or why not
    # (crawler.spiders.search); empty for other sources.
    resolution: dict[str, int] = field(default_factory=dict, hash=False)

    @property
    def degraded(self) -> bool:
        """The source answered, but some of its articles failed: not "ok"."""
        return self.failed > 0


def bounds(policy: Policy) -> tuple[float, float]:
    """The interval's bounds; a source's own `every` always lies within them."""
    return min(policy.min_every, policy.every), max(policy.max_every, policy.every)


def adapt(policy: Policy, interval: float, outcome: Outcome) -> float:
    """The source's regular interval after this outcome (failures do not change it)."""
    if not policy.adaptive or policy.cron or outcome.status == "error":
        return interval
    low, high = bounds(policy)
    if outcome.status in ("not_modified", "unchanged") or outcome.new == 0:
        interval *= GROWTH
    elif outcome.entries and outcome.new / outcome.entries > MOSTLY_NEW:
        interval *= SHRINK
    return min(max(interval, low), high)


def backoff(policy: Policy, interval: float, failures: int) -> float:
    """Wait after `failures` failed passes in a row: doubling, never past `max_backoff`."""
    if failures <= 0:
        return interval
    return min(interval * 2 ** min(failures, 32), max(policy.max_backoff, interval))


def next_run(
    policy: Policy,
    interval: float,
    failures: int,
    retry_after: float | None,
    now: datetime,
    rng: random.Random,
) -> datetime:
    """When to poll next, jitter included; a site's Retry-After is honoured up to
    `max_backoff`. After failures the wait never exceeds `max_backoff` (or the regular
    interval, when longer), jitter included: at the cap, jitter is drawn below it. Raises
    ScheduleError when the crontab expression does not fire again."""
    if policy.cron and not failures:
        fire = next_fire(policy.cron, now, now.tzinfo or "UTC")
        if fire is None:
            raise ScheduleError(f"the crontab expression {policy.cron!r} never fires again")
        delay = (fire - now).total_seconds()
        delay += rng.uniform(0, policy.jitter * delay)
    else:
        delay = backoff(policy, interval, failures)
        spread = policy.jitter * delay
        longest = max(policy.max_backoff, interval)
        if failures and delay + spread > longest:
            delay = longest - spread  # a newcomer saw "next in 26.3h" with max_backoff 1d
        delay += rng.uniform(0, spread)
    if retry_after:
        delay = max(delay, min(retry_after, policy.max_backoff))
    return now + timedelta(seconds=delay)


def first_run(
    next_run_at: datetime | None, now: datetime, policy: Policy, interval: float, rng: random.Random
) -> datetime:
    """The first poll after start-up. Runs missed during downtime coalesce into one catch-up
    pass, spread over the first jitter window so sources do not all fire together."""
    if next_run_at is not None and next_run_at > now:
        return next_run_at
    spread = min(interval, 60.0) * max(policy.jitter, 0.0)
    return now + timedelta(seconds=rng.uniform(0, spread))
