"""The settings table: each setting of settings.yaml declared once, as a field of `Settings`.

First stage of the flow (config → schedule → spiders → item → pipelines → store → review).
A field's declaration gives the setting's name, type, default, bounds, help text and the
Scrapy settings it feeds; everything else is derived from it: the checks of `settings_from`
(called by `crawler.config.files`, which reads the YAML), the Scrapy settings of
`crawler.addon`, the reference in docs/configuration.md (rewritten by
`python -m crawler.config.settings --write`) and what `newsmon config check` reports.
No YAML is read here.
"""

from __future__ import annotations

import argparse
import re
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

__all__ = [
    "BY_NAME",
    "DEFAULT_USER_AGENT",
    "MAX_DURATION",
    "SETTINGS",
    "Derived",
    "Duration",
    "Setting",
    "SettingError",
    "Settings",
    "changed",
    "check_duration",
    "parse_duration",
    "reference_markdown",
    "settings_from",
    "typed",
    "with_reference",
    "yaml_value",
]

DEFAULT_USER_AGENT = "newsmon/0.1 (+https://github.com/newsmon/newsmon)"

DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A duration of the config lies between 1s and this: a longer one is a typo, and one of
# 99999999999d overflowed the date arithmetic of `newsmon run`, which then never polled the
# source again.
MAX_DURATION = 365 * 86400

TYPE_NAMES = {str: "text", int: "whole number", float: "number", bool: "boolean"}


class SettingError(ValueError):
    """A value outside its setting's declaration; the message names the setting and what is
    allowed. `crawler.config.files` adds the file and raises it as a `ConfigError`."""


class Duration:
    """The type of a setting written as a duration: `30s`, `15m`, `2h`, `1d`, from 1s to 365d.
    Only a marker in the table: the values stay plain strings, read with `parse_duration`."""


def parse_duration(text: str) -> int:
    """Seconds in "30s", "15m", "2h", "1d". Raises ValueError otherwise."""
    found = DURATION.match(str(text))
    if not found or int(found.group(1)) == 0:
        raise ValueError(f"not a duration like 30s, 15m, 2h or 1d: {text!r}")
    return int(found.group(1)) * UNIT_SECONDS[found.group(2)]


def check_duration(name: str, value: Any) -> int:
    """Seconds of a duration of the configuration (a setting or a source's field), which must
    lie between 1s and 365d; raises SettingError naming the field."""
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise SettingError(f"field {name!r}: {exc}") from None
    if seconds > MAX_DURATION:
        raise SettingError(f"field {name!r}: longer than 365d: {value!r}")
    return seconds


def typed(name: str, value: Any, kind: type) -> Any:
    """`value` checked against `kind`; ints are accepted where floats are expected."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (int, float) and isinstance(value, bool):
        raise SettingError(f"field {name!r} must be a number, not {value!r}")
    if not isinstance(value, kind):
        raise SettingError(f"field {name!r} must be {kind.__name__}, not {value!r}")
    return value


@dataclass(frozen=True)
class Derived:
    """A Scrapy setting computed from a setting's value, with the rule in words for the docs."""

    name: str
    compute: Callable[[Any], Any]
    text: str


@dataclass(frozen=True)
class Setting:
    """One row of the table: a setting as `Settings` declares it."""

    name: str
    type: type  # str, int, float, bool or Duration
    default: Any
    help: str
    nullable: bool = False  # `null` is allowed: the setting's automatic choice
    minimum: float | None = None
    above: float | None = None  # an exclusive minimum: a timeout must be > 0
    maximum: float | None = None
    rule: tuple[Callable[[Any], bool], str] | None = None  # a check beyond bounds, in words
    scrapy: tuple[str | Derived, ...] = ()  # names take the value as it is

    def check(self, value: Any) -> Any:
        """The value, typed, or SettingError naming the setting and what it allows."""
        if value is None and self.nullable:
            return None
        if self.type is Duration:
            check_duration(self.name, typed(self.name, value, str))
            return value
        checked = typed(self.name, value, self.type)
        ok = (
            (self.minimum is None or checked >= self.minimum)
            and (self.above is None or checked > self.above)
            and (self.maximum is None or checked <= self.maximum)
            and (self.rule is None or self.rule[0](checked))
        )
        if not ok:
            raise SettingError(
                f"field {self.name!r} has an invalid value {value!r} (allowed: {self.allowed()})"
            )
        return checked

    def allowed(self) -> str:
        """The values allowed, in words: `0 to 1`, `≥ 1`, `> 0`..."""
        if self.type is Duration:
            return "a duration from 1s to 365d"
        if self.type is bool:
            return "true or false"
        if self.minimum is not None and self.maximum is not None:
            bounds = f"{_number(self.minimum)} to {_number(self.maximum)}"
        elif self.above is not None:
            bounds = f"> {_number(self.above)}"
        elif self.minimum is not None:
            bounds = f"≥ {_number(self.minimum)}"
        else:
            bounds = f"≤ {_number(self.maximum)}" if self.maximum is not None else ""
        text = ", ".join(part for part in (bounds, self.rule and self.rule[1]) if part)
        text = text or f"any {TYPE_NAMES[self.type]}"
        return f"{text}, or null" if self.nullable else text

    def scrapy_values(self, value: Any) -> dict[str, Any]:
        """The Scrapy settings this setting feeds, with their values for `value`."""
        return {
            target.name if isinstance(target, Derived) else target: (
                target.compute(value) if isinstance(target, Derived) else value
            )
            for target in self.scrapy
        }


_DECLARED = "newsmon_setting"


def setting(
    default: Any,
    help_text: str,
    *,
    duration: bool = False,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
    rule: tuple[Callable[[Any], bool], str] | None = None,
    scrapy: tuple[str | Derived, ...] = (),
) -> Any:
    """A field of `Settings` that declares a setting; its name and type are the field's."""
    declared = {
        "help": " ".join(help_text.split()),
        "minimum": minimum,
        "above": above,
        "maximum": maximum,
        "rule": rule,
        "scrapy": scrapy,
        "duration": duration,
    }
    return field(default=default, metadata={_DECLARED: declared})


def _not_blank(text: str) -> bool:
    return bool(text.strip())


@dataclass(frozen=True)
class Settings:
    """settings.yaml, checked. Each field is the only declaration of its setting."""

    database: str = setting(
        "sqlite:///data/newsmon.db",
        """SQLAlchemy URL of the store: `sqlite:///path.db` (relative to the working directory)
        or `postgresql+psycopg://user@host/db`. `$NEWSMON_DATABASE` overrides it.""",
        rule=(lambda url: "://" in url, "a database URL like sqlite:///path.db"),
        scrapy=("NEWSMON_DATABASE",),
    )
    user_agent: str = setting(
        DEFAULT_USER_AGENT,
        """User-Agent header sent with every request, also by `newsmon sources add`,
        `sources check` and `topics test --url`. Name yourself and a contact URL.""",
        rule=(_not_blank, "not blank"),
        scrapy=("USER_AGENT",),
    )
    download_timeout: float = setting(
        30.0, "Seconds before a request is abandoned.", above=0, scrapy=("DOWNLOAD_TIMEOUT",)
    )
    allow_private_networks: bool = setting(
        False,
        """Allow links that resolve to loopback, private, link-local or other non-public
        addresses. Off, so a third-party feed cannot steer the crawler into internal services;
        such a request is refused and logged.""",
        scrapy=("NEWSMON_ALLOW_PRIVATE_NETWORKS",),
    )
    concurrent_requests: int = setting(
        16,
        "Requests in flight at once, over all hosts.",
        minimum=1,
        scrapy=("CONCURRENT_REQUESTS",),
    )
    concurrent_requests_per_host: int = setting(
        2,
        """Requests in flight at once per host, enforced by newsmon's own middleware; with
        `autothrottle`, also the concurrency it aims at.""",
        minimum=1,
        scrapy=(
            "CONCURRENT_REQUESTS_PER_DOMAIN",
            Derived("AUTOTHROTTLE_TARGET_CONCURRENCY", float, "the same, as a float"),
        ),
    )
    download_delay: float = setting(
        0.5,
        """Seconds between two requests to one host (Scrapy varies each wait from 0.5 to 1.5
        times this). With `autothrottle`, the shortest delay it may choose; it starts from this
        or 0.5 s, whichever is longer.""",
        minimum=0,
        scrapy=(
            "DOWNLOAD_DELAY",
            Derived("AUTOTHROTTLE_START_DELAY", lambda delay: max(delay, 0.5), "at least 0.5"),
        ),
    )
    autothrottle: bool = setting(
        True,
        "Adapt the delay per host to its response times (Scrapy's AutoThrottle).",
        scrapy=("AUTOTHROTTLE_ENABLED",),
    )
    obey_robots_txt: bool = setting(True, "Honour robots.txt.", scrapy=("ROBOTSTXT_OBEY",))
    # The HTTP codes are crawler/settings.py's RETRY_HTTP_CODES (tests/test_settings.py).
    retry_times: int = setting(
        2,
        """Immediate retries of a failed request: connection errors, timeouts and HTTP 408,
        500, 502, 503, 504, 522 and 524. A 429 is not retried at once: `newsmon run` waits as
        long as a source's `Retry-After` asks (up to `max_backoff`), and an article link is
        tried again at a later pass.""",
        minimum=0,
        scrapy=("RETRY_TIMES",),
    )
    max_download_size: int = setting(
        10_000_000,
        """Bytes; a larger feed or page is abandoned and logged (Scrapy warns from half of
        it).""",
        minimum=1,
        scrapy=(
            "DOWNLOAD_MAXSIZE",
            Derived("DOWNLOAD_WARNSIZE", lambda size: size // 2, "half of it"),
        ),
    )
    max_entries_per_feed: int = setting(
        200,
        "Entries read from one feed per pass (the first ones).",
        minimum=1,
        scrapy=("NEWSMON_MAX_ENTRIES_PER_FEED",),
    )
    max_sitemap_urls: int = setting(
        1000,
        "Recent entries read from one sitemap source per pass (newest first).",
        minimum=1,
    )
    max_sitemaps: int = setting(
        50, "Sitemap files fetched for one source per pass, through indexes.", minimum=1
    )
    max_listing_links: int = setting(500, "Links read from one listing page.", minimum=1)
    google_news_decode: bool = setting(
        False,
        """Ask Google's own endpoint for the publisher's URL of a Google News entry that
        neither its link nor the publisher's site resolved: two requests to news.google.com per
        entry, subject to its robots.txt. Off: the endpoint is undocumented, may break without
        notice and may conflict with Google's terms; such entries stay headline-only.""",
    )
    google_news_hosts: str = setting(
        "news.google.com",
        """Hosts (comma-separated, `host` or `host:port`) whose `/rss/articles/<id>` links are
        Google News article links, resolved to the publisher's article.""",
        rule=(_not_blank, "not blank"),
    )
    keep_html: bool = setting(
        True,
        """Keep each fetched page, gzip-compressed, with the extractor's version, so stored
        articles can be re-extracted when extraction improves, without fetching them again.""",
        scrapy=("NEWSMON_KEEP_HTML",),
    )
    entry_metadata: bool = setting(
        True,
        """Take an article's title, author and publication date from its feed entry when the
        entry gives all three (a date not in the future), instead of reading the page's own:
        the page would only repeat them, and reading them is a third of extraction's time.
        Off: the page's metadata always, its date first (for outlets whose feeds date
        entries by their last edit).""",
        scrapy=("NEWSMON_ENTRY_METADATA",),
    )
    extract_workers: int | None = setting(
        None,
        """Processes extracting article text beside the crawl, so downloading, deduplicating
        and storing never wait for it: `null` is one per core, `0` extracts in the crawl's own
        process (slower; about 200 MB less memory with two cores).""",
        minimum=0,
        scrapy=("NEWSMON_EXTRACT_WORKERS",),
    )
    concurrent_passes: int = setting(
        16,
        """Passes `newsmon run` runs at once; a source that comes due while they run waits its
        turn. Thousands of sources due together (a restart after downtime) otherwise start
        thousands of crawls at once. Read when `newsmon run` starts.""",
        minimum=1,
        maximum=1000,
    )
    every: str = setting(
        "1h",
        "Default polling interval of a source (`30s`, `15m`, `2h`, `1d`), for `newsmon run`.",
        duration=True,
    )
    min_every: str = setting(
        "5m",
        "Shortest interval adaptive polling may reach (a source's own `min_every` wins).",
        duration=True,
    )
    max_every: str = setting(
        "6h",
        "Longest interval adaptive polling may reach (a source's own `max_every` wins).",
        duration=True,
    )
    max_backoff: str = setting(
        "1d",
        """Longest wait before retrying a failing source, jitter included; also caps a site's
        `Retry-After` and the wait between attempts at a failed article link.""",
        duration=True,
    )
    link_attempts: int = setting(
        8,
        """Attempts at an article link that keeps failing (timeout, 5xx, DNS, storage
        error...) before it is given up, with its reason shown by `newsmon sources status`.""",
        minimum=1,
        maximum=100,
    )
    link_backoff: str = setting(
        "15m",
        """Wait before the third attempt at a failed article link (the first retry comes at
        the next pass), doubling after each further failure up to `max_backoff`.""",
        duration=True,
    )
    update_window: str = setting(
        "2d",
        """How long after its first fetch an article of a source with `updates` is re-checked
        for changes.""",
        duration=True,
    )
    jitter: float = setting(
        0.1,
        """Up to this share of an interval is added at random, so sources do not all fire
        together.""",
        minimum=0,
        maximum=1,
    )
    public_url: str | None = setting(
        None,
        """The address where analysts reach `newsmon serve` (`https://newsmon.example.org`,
        behind its proxy): alerts then link each article's review page. `null`: alerts link
        the original article only.""",
        rule=(lambda url: url.startswith(("http://", "https://")), "an http(s) URL"),
    )
    silent_after: str = setting(
        "3d",
        "`newsmon sources status` flags a source that brought no new article for this long.",
        duration=True,
    )
    broker: str | None = setting(
        None,
        """The distributed mode's RabbitMQ, as an AMQP URL
        (`amqp://user:password@host:5672/vhost`), for `newsmon schedule` and `newsmon worker`;
        `$NEWSMON_BROKER` overrides it. `null`: no distributed mode (`newsmon run` needs none).
        """,
        rule=(lambda url: url.startswith(("amqp://", "amqps://")), "an amqp:// or amqps:// URL"),
    )
    broker_queue: str = setting(
        "newsmon",
        """Prefix of the distributed mode's queues (`<prefix>.passes`, `<prefix>.results`):
        two newsmon deployments can share one broker under different prefixes.""",
        rule=(
            lambda name: bool(re.fullmatch(r"[A-Za-z0-9_.:-]{1,200}", name)),
            "letters, digits, _.:-",
        ),
    )
    worker_concurrency: int = setting(
        2,
        """Passes one `newsmon worker` runs at once (the broker hands it no more than this).
        Its crawls share one process, its extraction workers and its store connections.""",
        minimum=1,
        maximum=64,
    )
    pass_timeout: str = setting(
        "1h",
        """In the distributed mode, how long `newsmon schedule` waits for a worker to report a
        pass it handed out before it hands the pass out again (a worker that dies is noticed
        sooner: the broker delivers its passes again when its connection drops).""",
        duration=True,
    )


def _table() -> tuple[Setting, ...]:
    hints = get_type_hints(Settings)
    table = []
    for declared in fields(Settings):
        rules = dict(declared.metadata[_DECLARED])
        kind, nullable = _kind(hints[declared.name])
        if rules.pop("duration"):
            kind = Duration
        table.append(Setting(declared.name, kind, declared.default, nullable=nullable, **rules))
    return tuple(table)


def _kind(hint: Any) -> tuple[type, bool]:
    """`int | None` → (int, True); `float` → (float, False)."""
    if get_origin(hint) in (Union, types.UnionType):
        kinds = [arg for arg in get_args(hint) if arg is not type(None)]
        return kinds[0], True
    return hint, False


SETTINGS: tuple[Setting, ...] = _table()
BY_NAME = {spec.name: spec for spec in SETTINGS}


def settings_from(data: Mapping[str, Any]) -> Settings:
    """Settings from the mapping read from settings.yaml, each missing key at its default.
    Raises SettingError for an unknown key or a value its declaration does not allow."""
    unknown = sorted(set(data) - set(BY_NAME), key=str)
    if unknown:
        raise SettingError(f"unknown field {unknown[0]!r} (known: {', '.join(sorted(BY_NAME))})")
    return Settings(**{name: BY_NAME[name].check(value) for name, value in data.items()})


def changed(settings: Settings) -> list[tuple[Setting, Any]]:
    """The settings whose values differ from their defaults, in the table's order."""
    return [
        (spec, getattr(settings, spec.name))
        for spec in SETTINGS
        if getattr(settings, spec.name) != spec.default
    ]


# --- the reference in docs/configuration.md ----------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
BEGIN = "<!-- settings reference: generated by `python -m crawler.config.settings --write` -->"
END = "<!-- end of the generated settings reference -->"


def yaml_value(value: Any) -> str:
    """A value as settings.yaml writes it: `true`, `null`, `30`, `0.5`, `1h`."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return _number(value) if isinstance(value, float) else str(value)


def _number(value: float | None) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _type_name(spec: Setting) -> str:
    name = "duration" if spec.type is Duration else TYPE_NAMES[spec.type]
    return f"{name} or `null`" if spec.nullable else name


def _scrapy_text(spec: Setting) -> str:
    if not spec.scrapy:
        return "none (newsmon reads it from the configuration)"
    return ", ".join(
        f"`{target.name}` ({target.text})" if isinstance(target, Derived) else f"`{target}`"
        for target in spec.scrapy
    )


def reference_markdown() -> str:
    """The settings reference of docs/configuration.md, markers included."""
    parts = [BEGIN, ""]
    for spec in SETTINGS:
        parts += [
            f"### {spec.name}",
            "",
            spec.help,
            "",
            f"- Type: {_type_name(spec)}",
            f"- Default: `{yaml_value(spec.default)}`",
            f"- Allowed: {spec.allowed()}",
            f"- Scrapy setting: {_scrapy_text(spec)}",
            "",
        ]
    return "\n".join([*parts, END])


def with_reference(document: str) -> str:
    """`document` with its settings reference, between the markers, regenerated."""
    start, end = document.index(BEGIN), document.index(END) + len(END)
    return document[:start] + reference_markdown() + document[end:]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.config.settings",
        description="Print the settings reference, or rewrite it in docs/configuration.md.",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--markdown", action="store_true", help="print it (the default)")
    action.add_argument("--write", action="store_true", help=f"regenerate it in {DOCS}")
    if parser.parse_args(argv).write:
        DOCS.write_text(with_reference(DOCS.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(reference_markdown() + "\n")


if __name__ == "__main__":
    main()
