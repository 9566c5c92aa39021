"""The store's engines belong to whoever runs the crawls, not to the process: one writer and
one limits engine per store for every crawler of a runner, none shared between runners, and
their connections closed when the runner is done or the engine is dropped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from crawler.addon import NewsmonAddon
from crawler.cli.main import cli
from crawler.config.files import load_config
from crawler.extensions import SharedResources
from crawler.store.database import engine_for
from crawler.store.engines import Engines, crawl_store
from pipelines.store import StorePipeline
from tests.conftest import POSTGRES_URL


def connections(name: str) -> int:
    """PostgreSQL's backends open for the application `name`."""
    admin = create_engine(POSTGRES_URL, poolclass=NullPool)
    try:
        with admin.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": name},
            ).scalar_one()
    finally:
        admin.dispose()


def named(url: str, name: str) -> str:
    return f"{url}&application_name={name}"


def test_one_writer_per_store_for_a_runner_and_none_shared_between_runners(tmp_path: Path):
    first, second = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    engines = Engines()
    assert engines.writer(first) is engines.writer(first)
    assert engines.writer(second) is not engines.writer(first)
    assert (tmp_path / "a.db").is_file()  # created and migrated by its first use
    assert Engines().writer(first) is not engines.writer(first)


def test_the_crawlers_of_one_runner_share_its_engines(tmp_path: Path):
    database = f"sqlite:///{tmp_path / 'store.db'}"
    shared = SharedResources()

    def store_pipeline(resources: SharedResources | None) -> StorePipeline:
        settings = {"NEWSMON_DATABASE": database}
        if resources is not None:
            settings["NEWSMON_SHARED_RESOURCES"] = resources
        return StorePipeline.from_crawler(get_crawler(settings_dict=settings))

    one, two = store_pipeline(shared), store_pipeline(shared)
    assert one.engine is two.engine is shared.engines.writer(database)
    # A crawler that no runner gave resources gets its own from the add-on (a plain
    # `scrapy crawl`): engines of its own, not another crawler's.
    settings = Settings({"NEWSMON_DATABASE": database, "NEWSMON_CONFIG": load_config(None)})
    NewsmonAddon().update_settings(settings)
    own = crawl_store(settings)
    assert own is not one.engine
    assert crawl_store(settings) is own


def test_closing_a_runners_engines_closes_their_connections(postgres_url: str):
    url = named(postgres_url, "newsmon_test_close")
    engines = Engines()
    with engines.writer(url).connect() as connection:
        connection.execute(text("SELECT 1"))
    assert connections("newsmon_test_close") == 1  # pooled for the next pass
    engines.close()
    assert connections("newsmon_test_close") == 0
    assert engines.writer(url) is not None  # a new engine if asked again


@pytest.mark.parametrize(
    "args", [["hits"], ["sources", "status"], ["export", "--format", "jsonl"], ["stories"]]
)
def test_a_commands_engine_is_closed_when_it_ends(
    args: list[str], make_config: Callable[..., Path], postgres_url: str
):
    """Reading and writing commands alike: nothing of theirs stays connected to the store,
    whether they succeeded or failed."""
    url = named(postgres_url, "newsmon_test_cli")
    engine_for(url).dispose()  # a store at the newest revision
    config = make_config([])
    result = CliRunner().invoke(
        cli, [*args, "--config", str(config)], env={"NEWSMON_DATABASE": url}
    )
    assert result.exit_code in (0, 1, 2) and not isinstance(result.exception, AssertionError)
    assert connections("newsmon_test_cli") == 0
