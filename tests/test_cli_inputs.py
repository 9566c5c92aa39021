"""What the commands do with what the user gives them: files they cannot write or read, a
store that is missing or older, a database URL newsmon cannot open, an unknown article, CSV
cells a spreadsheet would run, and topic terms in scripts without spaces or with invisible
characters. Every user error is one line and exit code 2; read-only commands create nothing.
The real CLI in process (click's CliRunner), over real SQLite and PostgreSQL stores.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, insert, inspect
from sqlalchemy.pool import NullPool

from crawler.cli.main import cli
from crawler.store.database import MIGRATIONS, engine_for, migrate
from crawler.store.schema import articles
from tests.conftest import REPO

# Cells a spreadsheet runs as formulas once it has skipped the leading whitespace.
HOSTILE_TITLES = [
    '\n=HYPERLINK("http://evil.example","x")',
    "\u00a0=1+1",
    "\u2003 @SUM(A1:A9)",
    "\u3000+cmd|' /C calc'!A0",
    "\ufeff\u200b=2*3",
]
NO_HITS = "No hits: no article stored yet. Run `newsmon crawl` to fetch the sources.\n"
READ_ONLY = [
    ["hits"],
    ["export", "--format", "jsonl"],
    ["export", "--format", "csv"],
    ["stories"],
    ["versions", "1"],
    ["sources", "status"],
    ["sources", "list"],
    ["retag", "--dry-run"],
    ["serve"],  # on a port held by the test: were the store check missing, it would not hang
]


@pytest.fixture(autouse=True)
def _no_newsmon_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEWSMON_DATABASE", "NEWSMON_CONFIG", "NEWSMON_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def newsmon(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def one_line_error(result: Result) -> str:
    """The error line of a failed command, after checking it is the only output and no
    traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.fixture
def config(make_config: Callable[..., Path]) -> Path:
    return make_config(
        [{"name": "wire", "url": "https://example.org/feed.xml"}],
        [{"name": "nato", "any": ["NATO"]}],
    )


def database_of(config: Path) -> str:
    lines = (config / "settings.yaml").read_text().splitlines()
    return next(line.split(": ", 1)[1] for line in lines if line.startswith("database:"))


def store_with(config: Path, titles: list[str]) -> None:
    """A store at the configured URL holding one article per title."""
    engine = engine_for(database_of(config))
    rows = [
        {
            "url": f"https://example.org/{n}",
            "fingerprint": f"{n:064x}",
            "source": "wire",
            "title": title,
            "text": "Some text.",
            "fetched_at": datetime.now(UTC),
        }
        for n, title in enumerate(titles)
    ]
    with engine.begin() as connection:
        connection.execute(insert(articles), rows)


# --- files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_to_a_missing_directory(config: Path, tmp_path: Path, fmt: str) -> None:
    store_with(config, ["A title"])
    target = tmp_path / "nonexistent" / "dir" / f"x.{fmt}"
    result = newsmon("export", "--config", str(config), "--format", fmt, "--output", str(target))
    line = one_line_error(result)
    assert line == f"Error: cannot write {target}: No such file or directory"
    assert not target.parent.exists()


def test_export_to_a_full_device(config: Path) -> None:
    store_with(config, ["A title"] * 3)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    with open("/dev/full", "w") as full:  # every write fails: no space left on device
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "crawler",
                "export",
                "--config",
                str(config),
                "--format",
                "jsonl",
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**environment, "PYTHONPATH": str(REPO)},
            timeout=120,
        )
    assert result.returncode == 2, result.stderr
    assert result.stderr == "Error: cannot write standard output: No space left on device\n"


def test_sources_export_to_a_missing_directory(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "x.opml"
    result = newsmon("sources", "export", "--config", str(config), "--output", str(target))
    assert one_line_error(result) == f"Error: cannot write {target}: No such file or directory"


def test_log_file_that_cannot_be_written(config: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    result = newsmon("run", "--config", str(config), "--log-file", str(a_file / "newsmon.log"))
    assert one_line_error(result).startswith(f"Error: cannot write {a_file / 'newsmon.log'}: ")


def test_unreadable_config_file(config: Path) -> None:
    (config / "topics.yaml").unlink()
    (config / "topics.yaml").mkdir()  # a directory where the file should be
    result = newsmon("config", "check", "--config", str(config))
    assert one_line_error(result) == (
        f"Error: config: {config / 'topics.yaml'}: cannot read: Is a directory"
    )


# --- read-only commands ----------------------------------------------------------------------


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_a_store(
    config: Path, tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "nonexist" / "dir" / "x.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = ["--port", str(taken.getsockname()[1])] if command == ["serve"] else []
        result = newsmon(
            *command,
            *port,
            "--config",
            str(config),
            env={"NEWSMON_DATABASE": f"sqlite:///{missing}"},
        )
    line = one_line_error(result)
    assert f"no file {missing}" in line and "`newsmon crawl`" in line and "creates it" in line
    assert not (tmp_path / "nonexist").exists()


def test_read_only_commands_leave_an_older_store_alone(config: Path) -> None:
    url = database_of(config)
    older = create_engine(url, poolclass=NullPool)
    migrate(older, "0005")
    result = newsmon("hits", "--config", str(config))
    line = one_line_error(result)
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert f"schema revision 0005, older than this newsmon's {head}" in line
    assert "`newsmon crawl` (or `newsmon run`) upgrades it" in line
    with older.connect() as connection:
        revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert revision == "0005"
    assert "owed_links" not in inspect(older).get_table_names()
    older.dispose()
    engine_for(url)  # what a crawl does first
    assert newsmon("hits", "--config", str(config)).output == NO_HITS


def test_postgresql_database_without_newsmon_tables_is_missing(
    config: Path, postgres_url: str
) -> None:
    environment = {"NEWSMON_DATABASE": postgres_url}
    line = one_line_error(newsmon("hits", "--config", str(config), env=environment))
    assert "no newsmon store in postgresql+psycopg://" in line and "creates it" in line
    empty = create_engine(postgres_url, poolclass=NullPool)
    assert inspect(empty).get_table_names() == []  # nothing created, not even alembic_version
    empty.dispose()
    engine_for(postgres_url)
    result = newsmon("hits", "--config", str(config), env=environment)
    assert result.exit_code == 0 and result.output == NO_HITS


def test_versions_of_an_unknown_article(config: Path) -> None:
    store_with(config, ["A title"])
    line = one_line_error(newsmon("versions", "999", "--config", str(config)))
    assert line == "Error: no article with id 999"
    known = newsmon("versions", "1", "--config", str(config))
    assert known.exit_code == 0 and known.output == "Article 1 has no earlier versions.\n"


def test_since_longer_than_the_calendar_means_everything(config: Path) -> None:
    """A duration past year 1 is "since the beginning", not an OverflowError traceback."""
    store_with(config, ["A title"])
    result = newsmon("hits", "--config", str(config), "--since", "99999999999d")
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output


# --- the database URL ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("sqlit:///x.db", "sqlit:///x.db: unknown kind of database 'sqlit'"),
        ("mysql://u@localhost/news", "unknown kind of database 'mysql'"),
        ("postgresql+psycopg2://u@localhost/news", "the psycopg2 driver is not installed"),
        ("postgresql+nope://u@localhost/news", "unknown postgresql driver 'nope'"),
        ("not a url://", "not a database URL"),
    ],
)
def test_config_check_validates_the_database_url(
    make_config: Callable[..., Path], url: str, complaint: str
) -> None:
    config = make_config([], database=url)
    line = one_line_error(newsmon("config", "check", "--config", str(config)))
    assert line.startswith(f"Error: config: {config / 'settings.yaml'}: field 'database': ")
    assert complaint in line
    # And what used to fail later, with exit 1, fails the same way before crawling.
    assert complaint in one_line_error(newsmon("crawl", "--config", str(config)))


def test_config_check_connect(config: Path, tmp_path: Path, postgres_url: str) -> None:
    missing = tmp_path / "newsmon.db"
    plain = newsmon("config", "check", "--config", str(config))
    assert plain.exit_code == 0 and "store:" not in plain.output
    connect = newsmon("config", "check", "--connect", "--config", str(config))
    assert connect.exit_code == 0, connect.output
    assert f"store: no newsmon store in sqlite:///{missing}: no file {missing}" in connect.output
    assert not missing.exists()  # --connect creates nothing
    engine_for(f"sqlite:///{missing}")
    ready = newsmon("config", "check", "--connect", "--config", str(config))
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert f"store: reachable, schema revision {head} (the newest)" in ready.output
    environment = {"NEWSMON_DATABASE": postgres_url}
    empty = newsmon("config", "check", "--connect", "--config", str(config), env=environment)
    assert "store: reachable, no newsmon tables yet: `newsmon crawl`" in empty.output
    nowhere = {"NEWSMON_DATABASE": "postgresql+psycopg://newsmon@127.0.0.1:1/newsmon"}
    line = one_line_error(
        newsmon("config", "check", "--connect", "--config", str(config), env=nowhere)
    )
    assert line.startswith("Error: config: $NEWSMON_DATABASE: field 'database': database ")
    assert "127.0.0.1" in line


# --- CSV -------------------------------------------------------------------------------------


def test_csv_defuses_formulas_after_leading_whitespace(config: Path) -> None:
    store_with(config, [*HOSTILE_TITLES, "Plain title", "NATO = alliance"])
    result = newsmon("export", "--config", str(config), "--format", "csv")
    assert result.exit_code == 0, result.output
    titles = [row["title"] for row in csv.DictReader(io.StringIO(result.stdout))]
    assert titles == [*("'" + title for title in HOSTILE_TITLES), "Plain title", "NATO = alliance"]


# --- topic terms -----------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["mili\u200dtary", "mili\u00adtary", "\ufeffNATO", "AI\x07"])
def test_config_check_refuses_invisible_characters(
    make_config: Callable[..., Path], term: str
) -> None:
    config = make_config([], [{"name": "defence", "any": ["army", term]}])
    line = one_line_error(newsmon("config", "check", "--config", str(config)))
    assert "topic 1 ('defence')" in line and f"term {term!r}" in line
    assert f"U+{ord(next(c for c in term if not c.isalpha())):04X}" in line


def test_topics_test_in_scripts_without_spaces(make_config: Callable[..., Path]) -> None:
    terms = ["人工智能", "軍事利用", "ปัญญาประดิษฐ์"]
    config = make_config(
        [], [{"name": "ai-military", "any": terms}, {"name": "war", "any": ["ロシア・ウクライナ"]}]
    )
    assert newsmon("config", "check", "--config", str(config)).exit_code == 0
    for text, expected in [
        ("美国国防部周二表示，正在测试搭载人工智能的无人机。", "ai-military: 人工智能"),
        ("防衛省は人工知能の軍事利用に関する基本方針を公表した。", "ai-military: 軍事利用"),
        ("กองทัพไทยเริ่มนำปัญญาประดิษฐ์มาใช้ในการป้องกันประเทศ", "ai-military: ปัญญาประดิษฐ์"),
        ("ロシアウクライナ戦争の長期化で欧州経済に影響", "war: ロシア・ウクライナ"),
        ("他们讨论了人工智慧的未来。", "No topic matches."),
    ]:
        result = newsmon("topics", "test", "--config", str(config), text)
        assert result.exit_code == 0, result.output
        assert expected in result.output.splitlines(), (text, result.output)
