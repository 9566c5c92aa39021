"""The configuration directory: the only module that reads YAML.

First stage of the flow (config → schedule → spiders → item → pipelines → store → review). A
config directory holds `settings.yaml`, `sources.yaml` and `topics.yaml`, and optionally
`alerts.yaml`; `load_config` reads and validates them into frozen dataclasses, or raises
`ConfigError` naming the file, the entry and the field. The settings are checked against their
table in `crawler.config.settings`, the alerts by `crawler.config.alerts`. Nothing downstream
parses YAML or re-validates.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.resolver import VersionedResolver

from crawler.config.alerts import Alerts, alerts_from
from crawler.config.settings import (
    BY_NAME,
    SettingError,
    Settings,
    check_duration,
    settings_from,
    typed,
)
from crawler.errors import ConfigError
from crawler.match.terms import Matcher, TermError, TopicRule, check_term
from crawler.schedule.cron import HORIZON, cron_trigger, next_fire
from crawler.text.languages import language_code
from crawler.text.urls import canonicalize

__all__ = [
    "ALERTS_FILE",
    "CONFIG_FILES",
    "Config",
    "ConfigError",
    "DATABASE_ENV",
    "SOURCE_KINDS",
    "Source",
    "TOPIC_KEYS",
    "WATCHED_FILES",
    "append_source",
    "config_dir",
    "edit_sources",
    "load_config",
    "load_settings",
    "load_topics",
    "set_enabled",
    "shipped_config",
]

DEFAULT_CONFIG_DIR = "config"
CONFIG_FILES = ("settings.yaml", "sources.yaml", "topics.yaml")
ALERTS_FILE = "alerts.yaml"  # optional: no file, no alerts (crawler.config.alerts)
WATCHED_FILES = (*CONFIG_FILES, ALERTS_FILE)  # `newsmon run` reloads when one changes
CONFIG_ENV = "NEWSMON_CONFIG"
DATABASE_ENV = "NEWSMON_DATABASE"
BROKER_ENV = "NEWSMON_BROKER"
# Settings that an environment variable overrides: secrets and addresses a deploy sets.
ENV_OVERRIDES = {"database": DATABASE_ENV, "broker": BROKER_ENV}
SOURCE_KINDS = ("feed", "sitemap", "listing")
SOURCE_KEYS = {
    "name",
    "kind",
    "url",
    "every",
    "cron",
    "min_every",
    "max_every",
    "adaptive",
    "language",
    "enabled",
    "tags",
    "updates",
}
# Keys that only one kind of source takes.
KIND_KEYS = {"sitemap": {"max_age"}, "listing": {"follow", "deny", "allow_domains", "pages"}}


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    url: str
    every: str | None = None
    language: str | None = None
    enabled: bool = True
    tags: tuple[str, ...] = ()
    cron: str | None = None  # crontab expression (UTC), instead of `every`
    min_every: str | None = None
    max_every: str | None = None
    adaptive: bool = True
    max_age: str | None = None  # sitemap: only entries newer than this (default 2d)
    follow: str | None = None  # listing: article links match this regular expression...
    deny: str | None = None  # ...and not this one
    allow_domains: tuple[str, ...] = ()  # listing: hosts to follow links to (default: its own)
    pages: int = 1  # listing: pages of pagination to read
    updates: str | None = None  # re-check stored articles this often for changes (off: None)


@dataclass(frozen=True)
class Config:
    directory: Path
    settings: Settings
    sources: tuple[Source, ...] = ()
    topics: tuple[TopicRule, ...] = ()
    alerts: Alerts = Alerts()

    def __deepcopy__(self, memo: dict[int, Any]) -> Config:
        """Itself: every part is frozen. Scrapy deep-copies a crawler's settings, which hold
        the config, for each crawler, and `newsmon run` and the workers make one per pass: with
        10,000 sources the copy took four fifths of a worker's CPU (bench/distributed.py)."""
        return self

    @functools.cached_property
    def matcher(self) -> Matcher:
        """The topics' matcher, built once for this config: `newsmon run` and the workers
        make a crawler, hence a tag pipeline, for every pass, and building the matcher again
        for each was a tenth of a worker's CPU (py-spy over `bench/distributed.py`)."""
        return Matcher(self.topics)

    @functools.cached_property
    def by_name(self) -> dict[str, Source]:
        return {source.name: source for source in self.sources}

    def enabled_sources(self, names: list[str] | None = None) -> tuple[Source, ...]:
        """Enabled sources, or exactly the named ones (enabled or not) when names are given."""
        if not names:
            return tuple(source for source in self.sources if source.enabled)
        known = self.by_name
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ConfigError(
                f"{self.directory / 'sources.yaml'}: no source named {', '.join(unknown)}"
            )
        return tuple(known[name] for name in names)


def config_dir(option: str | os.PathLike[str] | None = None) -> Path:
    """`--config DIR`, else `$NEWSMON_CONFIG`, else `./config`."""
    return Path(option or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_DIR)


def _chosen_by(option: str | os.PathLike[str] | None) -> str:
    if option:
        return "given by --config"
    if os.environ.get(CONFIG_ENV):
        return f"given by ${CONFIG_ENV}"
    return f"the default; choose another with --config DIR or ${CONFIG_ENV}"


def shipped_config() -> Traversable:
    """The configuration shipped with newsmon (the repository's config/): installed with the
    package as `crawler.config.shipped` (pyproject.toml maps it), or read in place when
    newsmon runs from its source tree."""
    try:
        return importlib.resources.files("crawler.config.shipped")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / DEFAULT_CONFIG_DIR


def load_config(directory: str | os.PathLike[str] | None = None) -> Config:
    path = config_dir(directory)
    if not path.is_dir():
        raise ConfigError(
            f"config directory not found: {path.absolute()} ({_chosen_by(directory)}); "
            f"`newsmon init {path}` writes the shipped one there"
        )
    settings = _load_settings(path / "settings.yaml")
    sources = _load_sources(path / "sources.yaml")
    topics = load_topics(path / "topics.yaml")
    alerts = alerts_from(
        path / ALERTS_FILE,
        _read_yaml(path / ALERTS_FILE, required=False),
        {topic.name for topic in topics},
    )
    return Config(path, settings, sources, topics, alerts)


def load_settings(directory: str | os.PathLike[str] | None = None) -> Config:
    """settings.yaml alone, as a config with no sources and no topics: what a `newsmon worker`
    reads (its passes bring the scheduler's sources and topics)."""
    path = config_dir(directory)
    if not path.is_dir():
        raise ConfigError(
            f"config directory not found: {path.absolute()} ({_chosen_by(directory)})"
        )
    return Config(path, _load_settings(path / "settings.yaml"))


# --- reading -------------------------------------------------------------------------------


class _UniqueKeyConstructor(SafeConstructor):
    """Refuses a key written twice in one mapping (YAML would keep the last), naming it."""

    def check_mapping_key(
        self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any
    ) -> bool:
        if key in mapping:
            raise MarkedYAMLError(
                problem=f"key {key!r} appears twice", problem_mark=key_node.start_mark
            )
        return True


class _Yaml11Resolver(VersionedResolver):
    """YAML 1.1's implicit types, as PyYAML read the config before (`yes` and `no` stay
    booleans), chosen once: ruamel.yaml looks the version up again for every scalar, through
    two caught AttributeErrors, which took a third of the time of a large sources.yaml."""

    @property
    def processing_version(self) -> tuple[int, int]:
        return (1, 1)


def _safe_yaml() -> YAML:
    """ruamel.yaml's safe loader with libyaml's parser (ruamel.yaml.clib): pure Python takes
    four to six times as long for 10,000 sources (bench/config_load.py)."""
    loader = YAML(typ="safe")
    loader.Resolver = _Yaml11Resolver
    loader.Constructor = _UniqueKeyConstructor
    return loader


def _yaml_error(path: Path, exc: YAMLError) -> ConfigError:
    """One line naming the file and the line: ruamel's messages span several."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or not problem:
        return ConfigError(f"{path}: invalid YAML: {' '.join(str(exc).split())}")
    context = getattr(exc, "context", None)
    problem = f"{context}: {problem}" if context else problem
    return ConfigError(f"{path}, line {mark.line + 1}: invalid YAML: {problem}")


def _read_yaml(path: Path, *, required: bool) -> Any:
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: file not found")
        return None
    try:
        return _safe_yaml().load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:  # unreadable, a directory...
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except YAMLError as exc:
        raise _yaml_error(path, exc) from None


def _check_keys(where: str, entry: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(entry) - allowed, key=str)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(allowed))})"
        )


def _typed(where: str, name: str, value: Any, kind: type) -> Any:
    """Value checked against `kind` as a setting's is; ints are accepted where floats are."""
    try:
        return typed(name, value, kind)
    except SettingError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _load_settings(path: Path) -> Settings:
    """settings.yaml checked against the table of `crawler.config.settings`, with
    `$NEWSMON_DATABASE` and `$NEWSMON_BROKER` in place of `database` and `broker` when set."""
    data = _read_yaml(path, required=False) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of setting: value")
    overrides = {name: os.environ.get(env) for name, env in ENV_OVERRIDES.items()}
    overrides = {name: value for name, value in overrides.items() if value}
    for name in overrides:
        data.pop(name, None)
    try:
        settings = settings_from(data)
    except SettingError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for name, value in overrides.items():
        try:
            settings = replace(settings, **{name: BY_NAME[name].check(value)})
        except SettingError as exc:
            raise ConfigError(f"${ENV_OVERRIDES[name]}: {exc}") from None
    return settings


def _check_duration(where: str, name: str, value: Any) -> None:
    try:
        check_duration(name, value)
    except SettingError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _entries(path: Path, key: str) -> list[tuple[str, dict[str, Any]]]:
    """The list under `key`, each entry with a label for messages ("source 3 'name'")."""
    data = _read_yaml(path, required=True)
    if not isinstance(data, dict) or key not in data:
        raise ConfigError(f"{path}: expected a top-level `{key}:` list")
    _check_keys(str(path), data, {key})
    items = data[key] or []
    if not isinstance(items, list):
        raise ConfigError(f"{path}: `{key}` must be a list")
    labelled = []
    for number, entry in enumerate(items, start=1):
        label = f"{path}: {key[:-1]} {number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{label}: expected a mapping, not {entry!r}")
        if isinstance(entry.get("name"), str):
            label += f" ({entry['name']!r})"
        labelled.append((label, entry))
    return labelled


def _name(where: str, entry: Mapping[str, Any], seen: set[str]) -> str:
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: field 'name' is required and must be a non-empty string")
    if name in seen:
        raise ConfigError(f"{where}: field 'name': {name!r} is used twice")
    seen.add(name)
    return name


def _load_sources(path: Path) -> tuple[Source, ...]:
    sources = []
    seen: set[str] = set()
    for where, entry in _entries(path, "sources"):
        kind = entry.get("kind", "feed")
        if kind not in SOURCE_KINDS:
            raise ConfigError(
                f"{where}: field 'kind': {kind!r} is not supported (use: {', '.join(SOURCE_KINDS)})"
            )
        for other, keys in KIND_KEYS.items():
            misplaced = sorted(keys & set(entry)) if other != kind else []
            if misplaced:
                raise ConfigError(f"{where}: field {misplaced[0]!r} is for kind {other} only")
        _check_keys(where, entry, SOURCE_KEYS | KIND_KEYS.get(kind, set()))
        name = _name(where, entry, seen)
        url = _typed(where, "url", entry.get("url"), str)
        try:
            canonicalize(url)  # the canonical form doubles as the URL check
        except ValueError:
            raise ConfigError(
                f"{where}: field 'url': not an absolute http(s) URL: {url!r}"
            ) from None
        for key in ("every", "min_every", "max_every", "max_age", "updates"):
            if entry.get(key) is not None:
                _check_duration(where, key, entry[key])
        every, cron = entry.get("every"), entry.get("cron")
        if cron is not None:
            if every is not None:
                raise ConfigError(f"{where}: give `every` or `cron`, not both")
            _check_cron(where, cron)
        language = entry.get("language")
        if language is not None and language_code(language) is None:
            raise ConfigError(
                f"{where}: field 'language': not a language code like 'fr': {language!r}"
            )
        tags = entry.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise ConfigError(f"{where}: field 'tags' must be a list of strings")
        sources.append(
            Source(
                name=name,
                kind=kind,
                url=url.strip(),
                every=every,
                language=language_code(language),
                enabled=_typed(where, "enabled", entry.get("enabled", True), bool),
                tags=tuple(tags),
                cron=cron,
                min_every=entry.get("min_every"),
                max_every=entry.get("max_every"),
                adaptive=_typed(where, "adaptive", entry.get("adaptive", True), bool),
                **_listing_options(where, entry),
                max_age=entry.get("max_age"),
                updates=entry.get("updates"),
            )
        )
    return tuple(sources)


def _listing_options(where: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key in ("follow", "deny"):
        if entry.get(key) is not None:
            pattern = _typed(where, key, entry[key], str)
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(
                    f"{where}: field {key!r}: not a regular expression ({exc})"
                ) from None
            options[key] = pattern
    domains = entry.get("allow_domains", [])
    if not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
        raise ConfigError(f"{where}: field 'allow_domains' must be a list of host names")
    options["allow_domains"] = tuple(d.lower() for d in domains)
    pages = entry.get("pages", 1)
    if isinstance(pages, bool) or not isinstance(pages, int) or not 1 <= pages <= 100:
        raise ConfigError(f"{where}: field 'pages' must be a whole number from 1 to 100")
    options["pages"] = pages
    return options


def _check_cron(where: str, cron: object) -> None:
    try:
        cron_trigger(str(cron))
    except ValueError as exc:
        raise ConfigError(
            f"{where}: field 'cron': not a crontab expression ({exc}): {cron!r}"
        ) from None
    if next_fire(str(cron), datetime.now(UTC)) is None:
        raise ConfigError(
            f"{where}: field 'cron': never fires within {HORIZON.days // 365} years "
            f"(no such day?): {cron!r}"
        )


def _terms(where: str, name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: field {name!r} must be a non-empty list of terms")
    for term in value:
        if not isinstance(term, str):
            raise ConfigError(f"{where}: field {name!r}: term {term!r} is not a string")
        try:
            check_term(term)
        except TermError as exc:
            raise ConfigError(f"{where}: field {name!r}: {exc}") from None
    return tuple(value)


TOPIC_KEYS = {"name", "description", "any", "all", "none", "near", "lead", "except"}


def load_topics(path: str | os.PathLike[str]) -> tuple[TopicRule, ...]:
    """The topics of a topics.yaml file (that of the config directory, or one to try)."""
    path = Path(path)
    topics = []
    seen: set[str] = set()
    for where, entry in _entries(path, "topics"):
        _check_keys(where, entry, TOPIC_KEYS)
        name = _name(where, entry, seen)
        if "any" not in entry and "all" not in entry:
            raise ConfigError(f"{where}: needs `any` (a list of terms) or `all` (groups of terms)")
        any_terms = _terms(where, "any", entry["any"]) if "any" in entry else ()
        groups: tuple[tuple[str, ...], ...] = ()
        if "all" in entry:
            if not isinstance(entry["all"], list) or not entry["all"]:
                raise ConfigError(f"{where}: field 'all' must be a non-empty list of term lists")
            groups = tuple(_terms(where, "all", group) for group in entry["all"])
        near = entry.get("near")
        if near is not None:
            if not groups:
                raise ConfigError(f"{where}: field 'near' needs `all`")
            if isinstance(near, bool) or not isinstance(near, int) or near < 1:
                raise ConfigError(f"{where}: field 'near' must be a whole number of words ≥ 1")
        lead = entry.get("lead")
        if lead is not None:
            if near is None:
                raise ConfigError(f"{where}: field 'lead' needs `near`")
            if isinstance(lead, bool) or not isinstance(lead, int) or lead < 0:
                raise ConfigError(f"{where}: field 'lead' must be a whole number of words ≥ 0")
        topics.append(
            TopicRule(
                name=name,
                description=_typed(where, "description", entry.get("description", ""), str),
                any=any_terms,
                all=groups,
                none=_terms(where, "none", entry["none"]) if "none" in entry else (),
                near=near,
                lead=lead,
                exceptions=_terms(where, "except", entry["except"]) if "except" in entry else (),
            )
        )
    return tuple(topics)


# --- editing sources.yaml ---------------------------------------------------------------------
# Round-trip editing with ruamel.yaml keeps the file's comments, order and layout; every edit
# is validated like a hand edit before it replaces the file, atomically.


def _round_trip() -> YAML:
    yaml_rt = YAML()  # round-trip mode
    yaml_rt.preserve_quotes = True
    yaml_rt.width = 4096  # never fold long URLs
    yaml_rt.indent(mapping=2, sequence=4, offset=2)
    return yaml_rt


def edit_sources(directory: str | os.PathLike[str], change: Callable[[list[Any]], None]) -> None:
    """Apply `change` to the `sources:` list of DIR/sources.yaml, keeping comments and layout.
    Raises ConfigError, leaving the file untouched, when the result would not load."""
    path = Path(directory) / "sources.yaml"
    yaml_rt = _round_trip()
    try:
        data = yaml_rt.load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except YAMLError as exc:
        raise _yaml_error(path, exc) from None
    except Exception as exc:  # noqa: BLE001 - round-trip mode raises more than YAMLError
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if data is None or data.get("sources") is None:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        data = data if data is not None else CommentedMap()
        data["sources"] = CommentedSeq()
    change(data["sources"])
    candidate = path.with_name(f".{path.name}.new")
    try:
        with candidate.open("w", encoding="utf-8") as out:
            yaml_rt.dump(data, out)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write {candidate.name}: {exc.strerror or exc}") from None
    try:
        _load_sources(candidate)
    except ConfigError as exc:
        candidate.unlink()
        raise ConfigError(str(exc).replace(str(candidate), str(path))) from None
    candidate.replace(path)


def set_enabled(directory: str | os.PathLike[str], name: str, enabled: bool) -> None:
    def change(entries: list[Any]) -> None:
        for entry in entries:
            if isinstance(entry, dict) and entry.get("name") == name:
                entry["enabled"] = enabled
                return
        raise ConfigError(f"{Path(directory) / 'sources.yaml'}: no source named {name}")

    edit_sources(directory, change)


def append_source(
    directory: str | os.PathLike[str], entry: dict[str, Any], comment: str | None = None
) -> None:
    """Add a source at the end of the list, with a comment line above it."""
    from ruamel.yaml.comments import CommentedMap

    def change(entries: list[Any]) -> None:
        if any(isinstance(e, dict) and e.get("name") == entry["name"] for e in entries):
            raise ConfigError(
                f"{Path(directory) / 'sources.yaml'}: a source named {entry['name']!r} exists"
            )
        item = CommentedMap(entry)
        entries.append(item)
        if comment:
            entries.yaml_set_comment_before_after_key(len(entries) - 1, before=comment, indent=2)

    edit_sources(directory, change)
