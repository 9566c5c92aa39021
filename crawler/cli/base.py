"""What every `newsmon` command shares: the error-to-exit-code group, `--config`, `--since`.

Domain errors become one readable line and the documented exit code here, and only here:
2 for a config or usage error (a bad input file, a store a read-only command cannot use
included), 1 for a storage error.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sqlalchemy import Engine

from crawler.config.settings import parse_duration
from crawler.errors import ConfigError, EvalFileError, StorageError, StoreNotReady

EXIT_STORAGE = 1
EXIT_CONFIG = 2
LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)


class UserError(click.ClickException):
    """A problem with what the user gave (a file, a URL...): one line, exit code 2."""

    exit_code = EXIT_CONFIG


def write_store(url: str) -> Engine:
    """The store at `url` for a command that writes (`engine_for`: created, migrated), its
    connections closed when the command ends."""
    from crawler.store.database import engine_for  # SQLAlchemy: only for commands that need it

    return _closed_with_command(engine_for(url))


def read_store(url: str) -> Engine:
    """The store at `url` for a command that only reads (`open_store`: it must exist at the
    newest revision), its connections closed when the command ends."""
    from crawler.store.database import open_store

    return _closed_with_command(open_store(url))


def _closed_with_command(engine: Engine) -> Engine:
    click.get_current_context().call_on_close(engine.dispose)
    return engine


def file_error(path: Path, exc: OSError, doing: str = "write") -> UserError:
    """`cannot write FILE: No such file or directory`, for an OSError on a user's file."""
    return UserError(f"cannot {doing} {path}: {exc.strerror or exc}")


class NewsmonGroup(click.Group):
    """Turns domain errors into one readable line and the documented exit code, and loads
    the commands of other modules only when one of them runs or is listed (`lazy`: name →
    "module:attribute"), click's pattern for lazily loaded subcommands: `newsmon crawl` then
    imports neither the review app's nor the alerts' code (with SQLAlchemy, 0.2 s before
    the crawl could start its extraction workers' fork server)."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"Error: config: {exc}", err=True)
            ctx.exit(EXIT_CONFIG)
        except StoreNotReady as exc:  # the user's to fix: no store yet, a wrong URL
            click.echo(f"Error: storage: {exc}", err=True)
            ctx.exit(EXIT_CONFIG)
        except StorageError as exc:
            click.echo(f"Error: storage: {exc}", err=True)
            ctx.exit(EXIT_STORAGE)
        except EvalFileError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_CONFIG)


def _config_or_group_config(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
    """A command's own `--config`, else the one given before the command name
    (`newsmon --config DIR hits`), else None: `$NEWSMON_CONFIG`, then `./config`."""
    if value is not None:
        return value
    return (ctx.find_root().obj or {}).get("config_dir")


CONFIG_HELP = "Config directory (default: $NEWSMON_CONFIG, else ./config)."


def config_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_dir",
        metavar="DIR",
        type=click.Path(path_type=Path),
        callback=_config_or_group_config,
        help=CONFIG_HELP + " Also accepted before the command name.",
    )(command)


def group_config_option(group: Callable[..., Any]) -> Callable[..., Any]:
    """`--config` before the command name, kept for the command's own `--config`."""

    def remember(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
        ctx.ensure_object(dict)["config_dir"] = value

    return click.option(
        "--config",
        metavar="DIR",
        type=click.Path(path_type=Path),
        callback=remember,
        expose_value=False,
        is_eager=True,
        help=CONFIG_HELP + " Also accepted after the command name.",
    )(group)


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON instead of text, for scripts."
    )(command)


def echo_json(data: Any) -> None:
    """`data` as indented JSON on standard output; dates in ISO 8601, text as it is."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_json_value))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def cells(text: str) -> int:
    """How many terminal columns `text` takes: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit(text: str, width: int) -> str:
    """`text` cut to `width` terminal columns, with an ellipsis when it was cut, and padded."""
    if cells(text) <= width:
        return text + " " * (width - cells(text))
    out, used = [], 0
    for char in text:
        size = cells(char)
        if used + size > width - 1:
            break
        out.append(char)
        used += size
    return "".join(out) + "…" + " " * (width - 1 - used)


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """`7d`, `24h`, `30m` back from now, or an ISO 8601 date or datetime (UTC if no zone)."""
    if not text:
        return None
    now = now or datetime.now(UTC)
    try:
        seconds = parse_duration(text)
    except ValueError:
        pass
    else:
        try:
            return now - timedelta(seconds=seconds)
        except OverflowError:  # before year 1: everything is since then
            return datetime.min.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a duration like 7d nor an ISO date"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
