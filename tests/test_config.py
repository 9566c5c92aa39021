"""Config loading: defaults, overrides, and one clear message per mistake (CLI exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.config.files import ConfigError, config_dir, load_config
from crawler.config.settings import (
    DEFAULT_USER_AGENT,
    SETTINGS,
    Duration,
    Settings,
    parse_duration,
    settings_from,
)
from tests.config_files import yaml_data
from tests.conftest import run_cli

SOURCE = {"name": "a", "url": "https://example.org/feed.xml"}
TOPIC = {"name": "t", "any": ["AI"]}


def write(
    directory: Path, settings: str = "", sources: str | None = None, topics: str | None = None
) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "settings.yaml").write_text(settings, encoding="utf-8")
    (directory / "sources.yaml").write_text(
        sources if sources is not None else "sources:\n  - name: a\n    url: https://e.org/f\n",
        encoding="utf-8",
    )
    (directory / "topics.yaml").write_text(
        topics if topics is not None else "topics:\n  - name: t\n    any: [AI]\n",
        encoding="utf-8",
    )
    return directory


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSMON_DATABASE", raising=False)
    config = load_config(write(tmp_path / "c"))
    settings = config.settings
    assert settings.database == "sqlite:///data/newsmon.db"
    assert settings.user_agent == DEFAULT_USER_AGENT and "newsmon" in settings.user_agent
    assert "Scrapy" not in settings.user_agent
    assert settings.download_timeout == 30
    assert settings.allow_private_networks is False
    assert settings.keep_html is True
    source = config.sources[0]
    assert (source.kind, source.enabled, source.tags, source.every) == ("feed", True, (), None)
    assert config.topics[0].any == ("AI",)


def test_database_env_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_DATABASE", "postgresql+psycopg://u@h/db")
    config = load_config(write(tmp_path / "c", "database: sqlite:///x.db\n"))
    assert config.settings.database == "postgresql+psycopg://u@h/db"


def test_config_dir_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    assert config_dir(None) == Path("config")
    monkeypatch.setenv("NEWSMON_CONFIG", str(tmp_path))
    assert config_dir(None) == tmp_path
    assert config_dir("other") == Path("other")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), (" 5m ", 300)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["15", "m", "0m", "1w", "-5m", "1.5h", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


# Each mistake -> (file, fragments the message must contain).
MISTAKES = {
    "unknown setting": (
        {"settings": "download_timout: 5\n"},
        "settings.yaml",
        ["unknown field 'download_timout'"],
    ),
    "wrong setting type": (
        {"settings": "download_timeout: soon\n"},
        "settings.yaml",
        ["'download_timeout'", "float"],
    ),
    "bool as number": (
        {"settings": "concurrent_requests: true\n"},
        "settings.yaml",
        ["'concurrent_requests'"],
    ),
    "negative timeout": (
        {"settings": "download_timeout: -1\n"},
        "settings.yaml",
        ["'download_timeout'", "invalid value"],
    ),
    "negative workers": (
        {"settings": "extract_workers: -1\n"},
        "settings.yaml",
        ["'extract_workers'", "invalid value"],
    ),
    "workers as text": (
        {"settings": "extract_workers: auto\n"},
        "settings.yaml",
        ["'extract_workers'", "int"],
    ),
    "bad yaml": ({"settings": "a: [b\n"}, "settings.yaml", ["invalid YAML"]),
    "duplicate key": (
        {"settings": "keep_html: true\nkeep_html: false\n"},
        "settings.yaml",
        ["appears twice"],
    ),
    "no sources list": ({"sources": "feeds: []\n"}, "sources.yaml", ["`sources:`"]),
    "unknown source field": (
        {"sources": "sources:\n  - name: a\n    url: https://e.org/\n    urls: x\n"},
        "sources.yaml",
        ["source 1 ('a')", "unknown field 'urls'"],
    ),
    "missing url": (
        {"sources": "sources:\n  - name: a\n"},
        "sources.yaml",
        ["source 1 ('a')", "'url'"],
    ),
    "bad url": (
        {"sources": "sources:\n  - name: a\n    url: example.org/feed\n"},
        "sources.yaml",
        ["source 1 ('a')", "'url'", "example.org/feed"],
    ),
    "ftp url": (
        {"sources": "sources:\n  - name: a\n    url: ftp://e.org/f\n"},
        "sources.yaml",
        ["'url'"],
    ),
    "duplicate name": (
        {
            "sources": "sources:\n  - {name: a, url: 'https://e.org/1'}\n"
            "  - {name: a, url: 'https://e.org/2'}\n"
        },
        "sources.yaml",
        ["source 2 ('a')", "used twice"],
    ),
    "unknown kind": (
        {"sources": "sources:\n  - {name: a, url: 'https://e.org/', kind: newsletter}\n"},
        "sources.yaml",
        ["'kind'", "'newsletter' is not supported"],
    ),
    "listing key on a feed": (
        {"sources": "sources:\n  - {name: a, url: 'https://e.org/', follow: '/news/'}\n"},
        "sources.yaml",
        ["'follow' is for kind listing only"],
    ),
    "bad follow": (
        {
            "sources": "sources:\n  - {name: a, url: 'https://e.org/', kind: listing, "
            "follow: '(['}\n"
        },
        "sources.yaml",
        ["'follow'", "not a regular expression"],
    ),
    "bad pages": (
        {"sources": "sources:\n  - {name: a, url: 'https://e.org/', kind: listing, pages: 0}\n"},
        "sources.yaml",
        ["'pages'"],
    ),
    "bad max_age": (
        {
            "sources": "sources:\n  - {name: a, url: 'https://e.org/', kind: sitemap, "
            "max_age: old}\n"
        },
        "sources.yaml",
        ["'max_age'"],
    ),
    "bad every": (
        {"sources": "sources:\n  - {name: a, url: 'https://e.org/', every: often}\n"},
        "sources.yaml",
        ["'every'", "often"],
    ),
    "bad enabled": (
        {"sources": "sources:\n  - {name: a, url: 'https://e.org/', enabled: 'no'}\n"},
        "sources.yaml",
        ["'enabled'", "bool"],
    ),
    "bad tags": (
        {"sources": "sources:\n  - {name: a, url: 'https://e.org/', tags: x}\n"},
        "sources.yaml",
        ["'tags'"],
    ),
    "bad language": (
        {"sources": "sources:\n  - {name: a, url: 'https://e.org/', language: french}\n"},
        "sources.yaml",
        ["'language'"],
    ),
    "no terms": ({"topics": "topics:\n  - name: t\n"}, "topics.yaml", ["topic 1 ('t')", "`any`"]),
    "empty term": (
        {"topics": "topics:\n  - name: t\n    any: ['']\n"},
        "topics.yaml",
        ["topic 1 ('t')", "'any'"],
    ),
    "misplaced star": (
        {"topics": "topics:\n  - name: t\n    any: ['*ai']\n"},
        "topics.yaml",
        ["'any'", "*ai"],
    ),
    "term not a string": (
        {"topics": "topics:\n  - name: t\n    any: [12]\n"},
        "topics.yaml",
        ["'any'", "12"],
    ),
    "empty group": ({"topics": "topics:\n  - name: t\n    all: [[]]\n"}, "topics.yaml", ["'all'"]),
    "near without all": (
        {"topics": "topics:\n  - name: t\n    any: [AI]\n    near: 5\n"},
        "topics.yaml",
        ["'near'"],
    ),
    "near zero": (
        {"topics": "topics:\n  - name: t\n    all: [[AI], [war]]\n    near: 0\n"},
        "topics.yaml",
        ["'near'"],
    ),
    "duplicate topic": (
        {"topics": "topics:\n  - {name: t, any: [AI]}\n  - {name: t, any: [KI]}\n"},
        "topics.yaml",
        ["topic 2 ('t')", "used twice"],
    ),
    "unknown topic field": (
        {"topics": "topics:\n  - {name: t, any: [AI], anyof: [x]}\n"},
        "topics.yaml",
        ["unknown field 'anyof'"],
    ),
}


def refused_naming(directory: Path, culprit: str, fragments: list[str]) -> None:
    """Loading the config fails with a message that starts with the culprit file and names
    each fragment."""
    with pytest.raises(ConfigError) as raised:
        load_config(directory)
    message = str(raised.value)
    assert message.startswith(str(directory / culprit)), message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("case", list(MISTAKES))
def test_mistakes_name_file_entry_and_field(tmp_path: Path, case: str) -> None:
    files, culprit, fragments = MISTAKES[case]
    directory = write(tmp_path / "c", **files)
    refused_naming(directory, culprit, fragments)


def test_missing_directory_and_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config directory not found"):
        load_config(tmp_path / "nowhere")
    directory = write(tmp_path / "c")
    (directory / "topics.yaml").unlink()
    with pytest.raises(ConfigError, match="topics.yaml: file not found"):
        load_config(directory)


def test_cli_config_error_exits_2_and_crawls_nothing(tmp_path: Path, site) -> None:
    directory = write(
        tmp_path / "c",
        f"database: sqlite:///{tmp_path / 'db.sqlite'}\nallow_private_networks: true\n",
        sources=f"sources:\n  - name: ok\n    url: {site.url('/feed')}\n"
        "  - name: bad\n    url: nope\n",
    )
    for command in (["crawl"], ["config", "check"], ["export", "--format", "jsonl"]):
        result = run_cli(*command, "--config", str(directory))
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
        assert "sources.yaml: source 2 ('bad'): field 'url'" in result.stderr
    assert site.hits == {}
    assert not (tmp_path / "db.sqlite").exists()


def test_config_check_ok(tmp_path: Path) -> None:
    directory = write(tmp_path / "c", f"database: sqlite:///{tmp_path / 'db.sqlite'}\n")
    result = run_cli("config", "check", "--config", str(directory))
    assert result.returncode == 0, result.stderr
    assert "sources: 1 (1 enabled)" in result.stdout and "topics: t" in result.stdout


def test_every_setting_has_help() -> None:
    assert all(spec.help.strip() for spec in SETTINGS)


def test_every_default_is_allowed_by_its_own_declaration() -> None:
    assert settings_from({spec.name: spec.default for spec in SETTINGS}) == Settings()


# A value beyond each bound -> what the one-line message must say is allowed.
OUT_OF_BOUNDS = {
    "download_timeout: 0": "> 0",
    "download_timeout: -1": "> 0",
    "concurrent_requests: 0": "≥ 1",
    "concurrent_requests_per_host: 0": "≥ 1",
    "download_delay: -0.5": "≥ 0",
    "retry_times: -1": "≥ 0",
    "max_download_size: 0": "≥ 1",
    "max_entries_per_feed: 0": "≥ 1",
    "max_sitemap_urls: 0": "≥ 1",
    "max_sitemaps: 0": "≥ 1",
    "max_listing_links: 0": "≥ 1",
    "extract_workers: -1": "≥ 0, or null",
    "link_attempts: 0": "1 to 100",
    "link_attempts: 101": "1 to 100",
    "jitter: -0.1": "0 to 1",
    "jitter: 1.5": "0 to 1",
    "user_agent: '  '": "not blank",
    "database: data/newsmon.db": "a database URL like sqlite:///path.db",
}


@pytest.mark.parametrize("line", list(OUT_OF_BOUNDS))
def test_out_of_bounds_setting_names_file_setting_and_range(tmp_path: Path, line: str) -> None:
    name, value = line.split(": ", 1)
    directory = write(tmp_path / "c", line + "\n")
    with pytest.raises(ConfigError) as raised:
        load_config(directory)
    assert str(raised.value) == (
        f"{directory / 'settings.yaml'}: field {name!r} has an invalid value "
        f"{yaml_data(value)!r} (allowed: {OUT_OF_BOUNDS[line]})"
    )
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(directory)])
    assert result.exit_code == 2
    assert result.output == f"Error: config: {raised.value}\n"  # one line, no traceback


@pytest.mark.parametrize(
    "line",
    [
        "download_timeout: 0.001",
        "download_delay: 0",
        "retry_times: 0",
        "jitter: 0",
        "jitter: 1",
        "link_attempts: 1",
        "link_attempts: 100",
        "extract_workers: 0",
        "extract_workers: null",
        "concurrent_requests: 1",
    ],
)
def test_settings_on_their_bounds_are_accepted(tmp_path: Path, line: str) -> None:
    name, value = line.split(": ", 1)
    settings = load_config(write(tmp_path / "c", line + "\n")).settings
    assert getattr(settings, name) == yaml_data(value)


def test_every_bound_of_the_table_is_enforced() -> None:
    """Each declared bound, from the table itself: the bound passes, one step beyond fails."""
    bounded = [spec for spec in SETTINGS if spec.type in (int, float)]
    assert len(bounded) >= 12
    for spec in bounded:
        step = 1 if spec.type is int else 0.001
        limits = [(spec.minimum, -step), (spec.maximum, step), (spec.above, 0)]
        for bound, beyond in limits:
            if bound is None:
                continue
            if bound is not spec.above:
                assert spec.check(spec.type(bound)) == bound, spec.name
            with pytest.raises(ValueError, match=f"field '{spec.name}' has an invalid value"):
                spec.check(spec.type(bound + beyond))


def test_bad_database_from_the_environment_is_blamed_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_DATABASE", "newsmon.db")
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path / "c", "database: sqlite:///x.db\n"))
    assert str(raised.value).startswith("$NEWSMON_DATABASE: field 'database' has an invalid")


def test_durations_of_the_table_are_bounded(tmp_path: Path) -> None:
    durations = [spec.name for spec in SETTINGS if spec.type is Duration]
    assert {"every", "link_backoff", "update_window", "silent_after"} <= set(durations)
    for name in durations:
        with pytest.raises(ConfigError, match=f"settings.yaml: field '{name}': longer than 365d"):
            load_config(write(tmp_path / name, f"{name}: 366d\n"))
        with pytest.raises(ConfigError, match=f"settings.yaml: field '{name}': not a duration"):
            load_config(write(tmp_path / f"{name}-0", f"{name}: 0s\n"))


def test_config_check_lists_the_settings_that_differ_from_the_defaults(tmp_path: Path) -> None:
    directory = write(
        tmp_path / "c",
        f"database: sqlite:///{tmp_path / 'db.sqlite'}\ndownload_delay: 0\nretry_times: 2\n"
        "every: 15m\n",
    )
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(directory)])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        "  settings: 2 differ from the defaults\n"
        "    download_delay: 0 (default: 0.5)\n"
        "    every: 15m (default: 1h)\n"
    )  # retry_times is set to its default; the database has its own line
    plain = CliRunner().invoke(cli, ["config", "check", "--config", str(write(tmp_path / "d"))])
    assert "  settings: none differ from the defaults\n" in plain.output


def test_shipped_config() -> None:
    from tests.conftest import REPO

    config = load_config(REPO / "config")
    assert len(config.sources) >= 15
    assert {source.language for source in config.sources} >= {"en", "fr", "de"}
    assert {
        "ai-military",
        "autonomous-weapons",
        "ai-export-controls",
        "defense-ai-procurement",
    } <= {topic.name for topic in config.topics}
    lines = (REPO / "config" / "sources.yaml").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if line.lstrip().startswith("- name:"):  # each source has a comment naming the outlet
            assert lines[number - 1].lstrip().startswith("#"), line


def test_enable_disable_keep_comments(tmp_path: Path) -> None:
    from tests.conftest import REPO

    directory = tmp_path / "c"
    directory.mkdir()
    for name in ("settings.yaml", "sources.yaml", "topics.yaml"):
        (directory / name).write_text((REPO / "config" / name).read_text(encoding="utf-8"))
    before = (directory / "sources.yaml").read_text(encoding="utf-8")
    result = run_cli("sources", "disable", "heise", "--config", str(directory))
    assert result.returncode == 0, result.stderr
    assert not {s.name: s for s in load_config(directory).sources}["heise"].enabled
    after = (directory / "sources.yaml").read_text(encoding="utf-8")
    assert [line for line in after.splitlines() if line.strip() != "enabled: false"] == (
        before.splitlines()
    )  # one line added, every comment and line kept
    run_cli("sources", "enable", "heise", "--config", str(directory))
    assert {s.name: s for s in load_config(directory).sources}["heise"].enabled
    missing = run_cli("sources", "enable", "nope", "--config", str(directory))
    assert missing.returncode == 2 and "no source named nope" in missing.stderr


# Schedules that would stop a source in `newsmon run` (issue 12, section 3).
IMPOSSIBLE_SCHEDULES = {
    "cron on 31 February": (
        "  - {name: a, url: 'https://e.org/', cron: '* * 31 2 *'}\n",
        "sources.yaml",
        ["source 1 ('a')", "'cron'", "never fires"],
    ),
    "cron on 30 February": (
        "  - {name: a, url: 'https://e.org/', cron: '0 0 30 2 *'}\n",
        "sources.yaml",
        ["'cron'", "never fires"],
    ),
    "every of 99999999999d": (
        "  - {name: a, url: 'https://e.org/', every: 99999999999d}\n",
        "sources.yaml",
        ["source 1 ('a')", "'every'", "longer than 365d"],
    ),
    "min_every over a year": (
        "  - {name: a, url: 'https://e.org/', min_every: 366d}\n",
        "sources.yaml",
        ["'min_every'", "365d"],
    ),
    "max_every in seconds": (
        "  - {name: a, url: 'https://e.org/', max_every: 31536001s}\n",
        "sources.yaml",
        ["'max_every'", "365d"],
    ),
}


@pytest.mark.parametrize("case", list(IMPOSSIBLE_SCHEDULES))
def test_impossible_schedules_are_refused(tmp_path: Path, case: str) -> None:
    entry, culprit, fragments = IMPOSSIBLE_SCHEDULES[case]
    directory = write(tmp_path / "c", sources="sources:\n" + entry)
    refused_naming(directory, culprit, fragments)


@pytest.mark.parametrize("setting", ["every", "min_every", "max_every", "max_backoff"])
def test_schedule_settings_longer_than_a_year_are_refused(tmp_path: Path, setting: str) -> None:
    with pytest.raises(ConfigError, match=f"settings.yaml: field '{setting}': longer than 365d"):
        load_config(write(tmp_path / "c", f"{setting}: 400d\n"))
    assert load_config(write(tmp_path / "ok", f"{setting}: 365d\n"))  # the bound itself is fine


def test_schedules_that_fire_rarely_are_accepted(tmp_path: Path) -> None:
    """29 February fires within four years; the first of January once a year."""
    sources = (
        "sources:\n  - {name: a, url: 'https://e.org/a', cron: '0 0 29 2 *'}\n"
        "  - {name: b, url: 'https://e.org/b', cron: '0 6 1 1 *'}\n"
    )
    assert len(load_config(write(tmp_path / "c", sources=sources)).sources) == 2


def test_config_check_refuses_a_cron_that_never_fires(tmp_path: Path) -> None:
    directory = write(
        tmp_path / "c",
        f"database: sqlite:///{tmp_path / 'db.sqlite'}\n",
        sources="sources:\n  - {name: feb, url: 'https://e.org/', cron: '* * 31 2 *'}\n",
    )
    result = run_cli("config", "check", "--config", str(directory))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    assert "sources.yaml: source 1 ('feb'): field 'cron': never fires" in result.stderr


@pytest.mark.parametrize(
    ("files", "culprit", "message"),
    [
        (
            {"settings": "keep_html: true\nkeep_html: false\n"},
            "settings.yaml",
            ", line 2: invalid YAML: key 'keep_html' appears twice",
        ),
        (
            {"sources": "sources:\n  - name: a\n    url: https://e.org/f\n    name: b\n"},
            "sources.yaml",
            ", line 4: invalid YAML: key 'name' appears twice",
        ),
        (
            {"topics": "topics:\n  - {name: t, any: [AI], any: [ML]}\n"},
            "topics.yaml",
            ", line 2: invalid YAML: key 'any' appears twice",
        ),
        (
            {"settings": "a: 1\n b: 2\n"},
            "settings.yaml",
            ", line 2: invalid YAML: mapping values are not allowed in this context",
        ),
    ],
)
def test_invalid_yaml_is_one_line_naming_file_and_line(
    tmp_path: Path, files: dict[str, str], culprit: str, message: str
) -> None:
    directory = write(tmp_path / "c", **files)
    with pytest.raises(ConfigError) as raised:
        load_config(directory)
    assert str(raised.value) == str(directory / culprit) + message


def test_yaml_1_1_as_before(tmp_path: Path) -> None:
    """The config is read as YAML 1.1, as PyYAML read it: `yes`/`no` are booleans."""
    directory = write(
        tmp_path / "c",
        "keep_html: no\n",
        sources="sources:\n  - {name: a, url: 'https://e.org/f', enabled: yes}\n"
        "  - {name: b, url: 'https://e.org/g', enabled: off}\n",
    )
    config = load_config(directory)
    assert config.settings.keep_html is False
    assert [source.enabled for source in config.sources] == [True, False]


def test_the_tag_pipelines_of_one_config_share_its_matcher(make_config) -> None:
    """`newsmon run` and the workers make a crawler per pass: its tag pipeline takes the
    config's matcher, built once, and a reloaded config builds its own."""
    from scrapy.utils.test import get_crawler

    from pipelines.tag import TagPipeline

    topics = [{"name": "ai", "any": ["artificial intelligence"]}]
    config = load_config(make_config([], topics))
    passes = [
        TagPipeline.from_crawler(get_crawler(settings_dict={"NEWSMON_CONFIG": config}))
        for _ in range(2)
    ]
    assert passes[0].matcher is passes[1].matcher is config.matcher
    assert config.matcher.match(None, "Artificial intelligence at war") == {
        "ai": ["artificial intelligence"]
    }
    reloaded = load_config(config.directory)
    assert reloaded.matcher is not config.matcher
