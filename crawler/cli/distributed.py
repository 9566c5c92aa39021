"""`newsmon schedule`, `newsmon worker`, `newsmon workers`: the distributed mode
(docs/distributed.md). The commands check what they need (a PostgreSQL store, a `broker`),
then hand over to crawler.schedule.dispatch or crawler.schedule.worker.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from crawler.cli.base import (
    EXIT_STORAGE,
    LOG_LEVELS,
    UserError,
    config_option,
    echo_json,
    file_error,
    json_option,
    read_store,
    write_store,
)
from crawler.config.files import Config, load_config, load_settings
from crawler.store import workers as worker_rows
from crawler.store.locks import NotPostgreSQL, require_postgresql

__all__ = ["schedule", "worker", "workers"]


class BrokerUnreachable(click.ClickException):
    exit_code = EXIT_STORAGE


def _distributed_config(config_dir: Path | None, settings_only: bool = False) -> Config:
    """The config (or only its settings), its store opened (migrated to the newest schema)
    and checked to be PostgreSQL, and a broker set; one line and exit code 2 otherwise."""
    config = load_settings(config_dir) if settings_only else load_config(config_dir)
    try:
        require_postgresql(write_store(config.settings.database))
    except NotPostgreSQL as exc:
        raise UserError(str(exc)) from None
    if not config.settings.broker:
        raise UserError(
            "no broker: set `broker` in settings.yaml or $NEWSMON_BROKER "
            "(amqp://user:password@host:5672/vhost)"
        )
    return config


def _logging_options(command):
    command = click.option(
        "--log-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Also write the log to this file.",
    )(command)
    return click.option(
        "--log-level", default="INFO", show_default=True, type=LOG_LEVELS, help="Log verbosity."
    )(command)


def _setup_logging(log_level: str, log_file: Path | None, live: bool):
    from crawler.cli.main import setup_logging

    try:
        return setup_logging(log_level.upper(), log_file, live=live)
    except OSError as exc:
        raise file_error(log_file or Path(), exc) from None


@click.command()
@config_option
@_logging_options
def schedule(config_dir: Path | None, log_level: str, log_file: Path | None) -> None:
    """Hand every enabled source's passes to `newsmon worker`s, on its schedule, until
    SIGTERM or Ctrl-C (the distributed mode; needs `broker` and a PostgreSQL store).

    One scheduler leads; a second one stands by and takes over when the first stops. Config
    edits take effect without a restart and reach every worker.
    """
    import sys

    from crawler.schedule.broker import BrokerError
    from crawler.schedule.dispatch import run_scheduler  # Scrapy and the reactor

    config = _distributed_config(config_dir)
    live = _setup_logging(log_level, log_file, live=sys.stderr.isatty())
    try:
        run_scheduler(config, log_level.upper(), live)
    except BrokerError as exc:
        raise BrokerUnreachable(str(exc)) from None


@click.command()
@config_option
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    help="Passes run at once (default: the `worker_concurrency` setting).",
)
@click.option("--name", help="This worker's name in `newsmon workers` (default: host:pid).")
@_logging_options
def worker(
    config_dir: Path | None,
    concurrency: int | None,
    name: str | None,
    log_level: str,
    log_file: Path | None,
) -> None:
    """Run the passes that `newsmon schedule` hands out, until SIGTERM or Ctrl-C (the
    distributed mode; needs `broker` and a PostgreSQL store).

    The worker's config gives only its store and broker: each pass brings the scheduler's
    sources, topics and settings. On SIGTERM its running passes go back to the queue.
    """
    from crawler.schedule.broker import BrokerError
    from crawler.schedule.worker import default_name, run_worker  # Scrapy and the reactor

    config = _distributed_config(config_dir, settings_only=True)
    _setup_logging(log_level, log_file, live=False)
    try:
        run_worker(
            config,
            name or default_name(),
            concurrency or config.settings.worker_concurrency,
            log_level.upper(),
        )
    except BrokerError as exc:
        raise BrokerUnreachable(str(exc)) from None


@click.command()
@config_option
@json_option
@click.option("--all", "show_all", is_flag=True, help="Also workers stopped or lost.")
def workers(config_dir: Path | None, as_json: bool, show_all: bool) -> None:
    """The distributed mode's workers: live ones (a heartbeat in the last 30 s) with their
    last heartbeat and the passes they run; with --all, stopped and lost ones too."""
    config = load_config(config_dir)
    engine = read_store(config.settings.database)
    now = datetime.now(UTC)
    rows = [row for row in worker_rows.listing(engine) if show_all or row.state(now) == "live"]
    if as_json:
        echo_json([{**row.__dict__, "state": row.state(now)} for row in rows])
        return
    if not rows:
        click.echo("No live workers." if not show_all else "No workers have run.")
        return
    for row in rows:
        ago = (now - row.heartbeat_at).total_seconds()
        running = ", ".join(row.running) or "idle"
        click.echo(
            f"{row.name}  {row.state(now)}  heartbeat {ago:.0f}s ago  "
            f"{row.passes} passes since {row.started_at:%Y-%m-%d %H:%M} UTC  running: {running}"
        )
