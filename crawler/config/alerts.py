"""alerts.yaml, checked: where new hits, topic spikes and source-health changes are sent.

First stage of the flow (config → schedule → ... → review). `crawler.config.files` reads the
optional alerts.yaml (no file: no alerts) and hands its mapping to `alerts_from`, which checks
it into frozen dataclasses or raises `ConfigError` naming the file, the entry and the field.
Channels are Apprise URLs whose secrets come from environment variables (`${SLACK_URL}`,
expanded here); a URL is only ever shown through `mask`. Sending is `crawler.alerts`'s job.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.errors import ConfigError

__all__ = [
    "ALERT_KINDS",
    "REVIEW_FILTERS",
    "AlertRule",
    "Alerts",
    "Channel",
    "alerts_from",
    "mask",
    "scrub",
]

ALERT_KINDS = ("hits", "spike", "health")
MODES = ("immediate", "digest")
REVIEW_FILTERS = ("unreviewed", "relevant")
HEALTH_FLAGS = ("FAILING", "SILENT")
RULE_KEYS = {
    "name",
    "kind",
    "channels",
    "topics",
    "mode",
    "digest",
    "timezone",
    "quiet_hours",
    "originals_only",
    "review",
    "min_terms",
    "min_articles",
    "flags",
    "subject",
    "body",
    "html",
}
# Keys that only one kind of rule takes.
KIND_KEYS = {
    "hits": {"mode", "digest", "originals_only", "review", "min_terms"},
    "spike": {"min_articles"},
    "health": {"flags"},
}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# A host name, an IPv4 or IPv6 address: shown. Anything else in the host's place is a token
# (`slack://TokenA/...`, `tgram://bot-id:secret/...`): hidden.
_HOST = re.compile(
    r"^(localhost|\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]+|"
    r"[a-z0-9-]*[a-z-][a-z0-9-]*(\.[a-z0-9-]+)+)$",
    re.I,
)


def mask(url: str) -> str:
    """`url` fit for a message or a log: its scheme and host (when it looks like a host name:
    in `slack://TokenA/...` it is a secret) are kept; user, password, path and query values
    are replaced by `***` (query keys stay: `?to=***`)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "***"
    if not parts.scheme or "://" not in url:
        return "***"
    try:
        port = parts.port
    except ValueError:  # `bot-id:secret` in the place of host and port
        port = None
        host = "***"
    else:
        host = parts.hostname or ""
    shown = host if _HOST.match(host) else ("***" if host else "")
    if port is not None and shown != "***":
        shown += f":{port}"
    credentials = "***@" if parts.username or parts.password else ""
    path = "/***" if parts.path.strip("/") else ""
    query = ""
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = "?" + "&".join(f"{key}=***" for key, _ in pairs) if pairs else "?***"
    return f"{parts.scheme}://{credentials}{shown}{path}{query}"


def _secrets(url: str) -> list[str]:
    """The parts of `url` that `mask` hides, longest first."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return [url]
    found = [url.strip(), parts.username or "", parts.password or ""]
    address = parts.netloc.rpartition("@")[2]
    shown = mask(url).partition("://")[2].removeprefix("***@")
    if shown.startswith("***"):
        found += [address, *address.split(":")]  # a token in the host's place
    found += [piece for piece in parts.path.split("/") if piece]
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    # Short pieces ("a", "v1") are no secret and would garble the text they are cut from.
    return sorted({piece for piece in found if len(piece) >= 4}, key=len, reverse=True)


def scrub(text: str, urls: list[str]) -> str:
    """`text` (a library's error message, a log line) with every URL of `urls` masked and any
    secret part of them (a token, a password...) replaced by `***`."""
    for url in urls:
        text = text.replace(url.strip(), mask(url))
        for secret in _secrets(url):
            text = text.replace(secret, "***")
    return text


@dataclass(frozen=True)
class Channel:
    """An Apprise URL, its `${VARIABLES}` expanded: never print `url`, print `masked`."""

    name: str
    url: str = field(repr=False)

    @property
    def masked(self) -> str:
        return mask(self.url)


@dataclass(frozen=True)
class AlertRule:
    name: str
    channels: tuple[str, ...]
    kind: str = "hits"  # one of ALERT_KINDS
    topics: tuple[str, ...] | None = None  # None: every topic
    mode: str = "immediate"  # hits: immediate or digest
    digest: str | None = None  # digest: "hourly" or "daily HH:MM"
    timezone: str = "UTC"  # of the digest's time and the quiet hours
    quiet_hours: tuple[time, time] | None = None  # (start, end), end may be past midnight
    originals_only: bool = False  # no near copies; the original says how many it has
    review: str | None = None  # unreviewed or relevant
    min_terms: int = 1  # distinct matched terms of the rule's topics
    min_articles: int = 5  # spike: at least this many articles today
    flags: tuple[str, ...] = HEALTH_FLAGS  # health: the flags that alert
    subject: str | None = None  # Jinja templates; None: the defaults of crawler.alerts
    body: str | None = None
    html: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def digest_at(self) -> time | None:
        """The time of a daily digest; None for an hourly one."""
        if self.digest and self.digest.startswith("daily "):
            hours, minutes = self.digest.split()[1].split(":")
            return time(int(hours), int(minutes))
        return None


@dataclass(frozen=True)
class Alerts:
    channels: tuple[Channel, ...] = ()
    rules: tuple[AlertRule, ...] = ()

    def rule(self, name: str) -> AlertRule | None:
        return next((rule for rule in self.rules if rule.name == name), None)

    def channels_of(self, rule: AlertRule) -> list[Channel]:
        by_name = {channel.name: channel for channel in self.channels}
        return [by_name[name] for name in rule.channels]


def _expand(where: str, value: str, environ: Mapping[str, str]) -> str:
    missing = [name for name in _VARIABLE.findall(value) if not environ.get(name)]
    if missing:
        raise ConfigError(f"{where}: environment variable {missing[0]} is not set")
    return _VARIABLE.sub(lambda found: environ[found.group(1)], value)


def _channels(path: Path, data: Any, environ: Mapping[str, str]) -> tuple[Channel, ...]:
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{path}: `channels` must be a mapping of name: Apprise URL")
    channels = []
    for name, value in data.items():
        where = f"{path}: channel {name!r}"
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: expected an Apprise URL (text), like mailtos://...")
        url = _expand(where, value.strip(), environ)
        # The URL is checked after expansion, and only ever shown masked.
        if "://" not in url:
            raise ConfigError(f"{where}: not an Apprise URL: {mask(url)}")
        channels.append(Channel(str(name), url))
    return tuple(channels)


def _clock(where: str, name: str, text: str) -> time:
    found = _CLOCK.match(text.strip())
    if not found:
        raise ConfigError(f"{where}: field {name!r}: not a time like 07:30: {text!r}")
    return time(int(found.group(1)), int(found.group(2)))


def _names(where: str, name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: field {name!r} must be a non-empty list of names")
    return tuple(value)


def _rule(where: str, entry: dict[str, Any], channels: set[str], topics: set[str]) -> AlertRule:
    kind = entry.get("kind", "hits")
    if kind not in ALERT_KINDS:
        raise ConfigError(f"{where}: field 'kind': {kind!r} is not one of {', '.join(ALERT_KINDS)}")
    for other, keys in KIND_KEYS.items():
        misplaced = sorted(keys & set(entry)) if other != kind else []
        if misplaced:
            raise ConfigError(f"{where}: field {misplaced[0]!r} is for kind {other} only")
    unknown = sorted(set(entry) - RULE_KEYS, key=str)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(RULE_KEYS))})"
        )
    rule: dict[str, Any] = {"name": entry["name"], "kind": kind}
    rule["channels"] = _names(where, "channels", entry.get("channels"))
    for name in rule["channels"]:
        if name not in channels:
            raise ConfigError(f"{where}: field 'channels': no channel named {name!r}")
    chosen = entry.get("topics", "all")
    if chosen != "all":
        rule["topics"] = _names(where, "topics", chosen)
        for name in rule["topics"]:
            if name not in topics:
                raise ConfigError(f"{where}: field 'topics': no topic named {name!r}")
    zone = entry.get("timezone", "UTC")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: field 'timezone': unknown time zone {zone!r}") from None
    rule["timezone"] = str(zone)
    mode = entry.get("mode", "immediate")
    if mode not in MODES:
        raise ConfigError(f"{where}: field 'mode': {mode!r} is not one of {', '.join(MODES)}")
    rule["mode"] = mode
    digest = entry.get("digest")
    if mode == "digest":
        if not isinstance(digest, str):
            raise ConfigError(
                f"{where}: mode digest needs `digest: hourly` or `digest: daily HH:MM`"
            )
        words = digest.split()
        if words == ["hourly"]:
            rule["digest"] = "hourly"
        elif len(words) == 2 and words[0] == "daily":
            rule["digest"] = f"daily {_clock(where, 'digest', words[1]).strftime('%H:%M')}"
        else:
            raise ConfigError(f"{where}: field 'digest': not `hourly` or `daily HH:MM`: {digest!r}")
    elif digest is not None:
        raise ConfigError(f"{where}: field 'digest' needs `mode: digest`")
    quiet = entry.get("quiet_hours")
    if quiet is not None:
        pieces = str(quiet).split("-")
        if len(pieces) != 2:
            raise ConfigError(f"{where}: field 'quiet_hours': not HH:MM-HH:MM: {quiet!r}")
        start, end = (_clock(where, "quiet_hours", piece) for piece in pieces)
        if start == end:
            raise ConfigError(f"{where}: field 'quiet_hours': starts and ends at {start:%H:%M}")
        rule["quiet_hours"] = (start, end)
    if "originals_only" in entry:
        if not isinstance(entry["originals_only"], bool):
            raise ConfigError(f"{where}: field 'originals_only' must be true or false")
        rule["originals_only"] = entry["originals_only"]
    review = entry.get("review")
    if review is not None and review not in REVIEW_FILTERS:
        raise ConfigError(
            f"{where}: field 'review': {review!r} is not one of {', '.join(REVIEW_FILTERS)}"
        )
    rule["review"] = review
    for key in ("min_terms", "min_articles"):
        if key in entry:
            value = entry[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{where}: field {key!r} must be a whole number ≥ 1")
            rule[key] = value
    if "flags" in entry:
        rule["flags"] = _names(where, "flags", entry["flags"])
        for flag in rule["flags"]:
            if flag not in HEALTH_FLAGS:
                raise ConfigError(
                    f"{where}: field 'flags': {flag!r} is not one of {', '.join(HEALTH_FLAGS)}"
                )
    for key in ("subject", "body", "html"):
        if key in entry:
            if not isinstance(entry[key], str) or not entry[key].strip():
                raise ConfigError(f"{where}: field {key!r} must be a template (text)")
            rule[key] = entry[key]
    return AlertRule(**rule)


def alerts_from(
    path: Path,
    data: Any,
    topics: set[str],
    environ: Mapping[str, str] | None = None,
) -> Alerts:
    """The alerts of the mapping read from `path` (alerts.yaml); `topics` are the names of
    topics.yaml, `environ` the variables that `${NAME}` reads (default: the process's)."""
    if data is None:
        return Alerts()
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with `channels:` and `rules:`")
    unknown = sorted(set(data) - {"channels", "rules"}, key=str)
    if unknown:
        raise ConfigError(f"{path}: unknown field {unknown[0]!r} (known: channels, rules)")
    channels = _channels(path, data.get("channels"), os.environ if environ is None else environ)
    items = data.get("rules") or []
    if not isinstance(items, list):
        raise ConfigError(f"{path}: `rules` must be a list")
    rules, seen = [], set()
    for number, entry in enumerate(items, start=1):
        where = f"{path}: rule {number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping, not {entry!r}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: field 'name' is required and must be a non-empty string")
        where += f" ({name!r})"
        if name in seen:
            raise ConfigError(f"{where}: field 'name': {name!r} is used twice")
        seen.add(name)
        rules.append(_rule(where, entry, {c.name for c in channels}, topics))
    return Alerts(channels, tuple(rules))
