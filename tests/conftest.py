"""Shared fixtures: fixture sites on 127.0.0.1, config directories, the real CLI in a
process of its own (forked by `tests.forked_cli`), and a private schema in the real
PostgreSQL database `test`.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

from tests.config_files import yaml_text
from tests.forked_cli import ForkedCli
from tests.sites import Site

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
POSTGRES_URL = os.environ.get(
    "NEWSMON_TEST_POSTGRES", "postgresql+psycopg://root@127.0.0.1:5432/test"
)

# pytest imports readline before any test (`_pytest.capture`), and GNU readline exports the
# size it finds as COLUMNS and LINES: 80 x 24 in pytest-xdist's workers. The CLI fits its tables
# to COLUMNS (120 without it) in every process a test starts, so the tests' output would depend
# on how pytest was run.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


# Every engine that connected during a test: it is the caller's to dispose (no process-wide
# cache keeps engines any more). Held until the test ends: a test that drops one would leave
# its pooled connections to the garbage collector, whose psycopg warning then fails
# whichever test runs at the time.
_CONNECTED: dict[int, Engine] = {}
event.listen(
    Engine,
    "engine_connect",
    lambda connection: _CONNECTED.setdefault(id(connection.engine), connection.engine),
)


@pytest.fixture(autouse=True)
def _engines_closed() -> Iterator[None]:
    """Close the pooled connections of the engines the test used, once it is done with them
    (an engine stays usable: it connects again when asked)."""
    yield
    engines = list(_CONNECTED.values())
    _CONNECTED.clear()
    for engine in engines:
        engine.dispose()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slow: a check over the shared corpus or a benchmark run (part of the default run, as in "
        "CI; `-m 'not slow'` leaves them out while working on something else)",
    )


# --- the order of modules, for pytest-xdist ------------------------------------------------
# pytest-xdist hands whole modules to its processes (`--dist loadfile`) in collection order
# (`--no-loadscope-reorder`, pyproject.toml). A long module handed out last keeps the suite
# running on one process while the others idle, so the longest go first: by the seconds each
# took in the last run that ran it (pytest's cache), after the modules never timed (those
# holding a `slow` test first), which may be long.
MODULE_SECONDS = "newsmon/module-seconds"


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cache = getattr(config, "cache", None)  # None with `-p no:cacheprovider`
    seconds: dict[str, float] = cache.get(MODULE_SECONDS, {}) if cache else {}
    slow = {_module(item.nodeid) for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> tuple[bool, float]:
        module = _module(item.nodeid)
        if module in seconds:
            return True, -seconds[module]
        return False, float(module not in slow)

    items.sort(key=rank)  # stable: the tests of a module keep their order


_spent: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # In the process that reports (pytest-xdist's controller, or the only one).
    _spent[_module(report.nodeid)] = _spent.get(_module(report.nodeid), 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    cache = getattr(session.config, "cache", None)
    if cache is None or hasattr(session.config, "workerinput") or not _spent:
        return
    recorded = cache.get(MODULE_SECONDS, {})
    cache.set(MODULE_SECONDS, {**recorded, **{k: round(v, 1) for k, v in _spent.items()}})


# Settings for crawling fixture sites: loopback allowed, no politeness delays.
TEST_SETTINGS = {
    "allow_private_networks": True,
    "download_delay": 0,
    "autothrottle": False,
    "download_timeout": 3,
    "retry_times": 1,
}


@pytest.fixture
def site_factory() -> Iterator[Callable[[], Site]]:
    sites: list[Site] = []

    def make() -> Site:
        sites.append(Site())
        return sites[-1]

    yield make
    for site in sites:
        site.close()


@pytest.fixture
def site(site_factory: Callable[[], Site]) -> Site:
    return site_factory()


def write_config(directory: Path, settings: dict, sources: list[dict], topics: list[dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "settings.yaml").write_text(yaml_text(settings))
    (directory / "sources.yaml").write_text(yaml_text({"sources": sources}))
    (directory / "topics.yaml").write_text(yaml_text({"topics": topics}))
    return directory


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Path]:
    """A config directory with test settings and a SQLite database under tmp_path."""

    def make(
        sources: list[dict],
        topics: list[dict] | None = None,
        name: str = "config",
        **settings: object,
    ) -> Path:
        merged = {"database": f"sqlite:///{tmp_path / 'newsmon.db'}", **TEST_SETTINGS, **settings}
        return write_config(tmp_path / name, merged, sources, topics or [])

    return make


_forked_cli = ForkedCli()
atexit.register(_forked_cli.stop)


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """`python -m crawler ARGS` in a process of its own: the real CLI, its own reactor, its
    own exit; forked from a process that has made the CLI's imports (`tests.forked_cli`)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    environment.update(env or {})
    environment["PYTHONPATH"] = str(REPO)
    return _forked_cli.run(list(args), cwd or REPO, environment, timeout)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in PostgreSQL's `test` database, dropped afterwards. Never skips: a test
    that needs PostgreSQL fails when the server is missing."""
    schema = f"newsmon_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, poolclass=NullPool)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def corpus() -> Path:
    assert CORPUS.is_dir(), f"the shared corpus is missing: expected it at {CORPUS}"
    return CORPUS


@pytest.fixture(scope="module")
def crawled_outlets(tmp_path_factory: pytest.TempPathFactory):
    """The web tests' fixture outlets, crawled once per test module into a SQLite store."""
    from tests.web_fixtures import crawl_fixture_outlets

    directory = tmp_path_factory.mktemp("crawled")
    site = Site()
    try:
        return crawl_fixture_outlets(directory, f"sqlite:///{directory / 'newsmon.db'}", site)
    finally:
        site.close()
