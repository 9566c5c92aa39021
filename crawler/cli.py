"""The `newsmon` command line: a thin layer over the library.

Each command loads the config, calls one function and prints. Domain errors become messages
and exit codes here and only here: 2 for a config error, 1 for a storage error.
"""

from __future__ import annotations

import logging
import shutil
import socket
import sys
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from crawler.config import Config, ConfigError, load_config, parse_duration, set_enabled
from crawler.config import config_dir as config_dir_for
from crawler.crawl_state import CrawlState
from crawler.database import StorageError, engine_for, safe_url
from crawler.export import iter_records, write_csv, write_jsonl
from crawler.live_view import LiveStatusHandler
from crawler.terms import Matcher
from crawler.urls import is_public_address

EXIT_STORAGE = 1
EXIT_CONFIG = 2
LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)


class NewsmonGroup(click.Group):
    """Turns domain errors into one readable line and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"Error: config: {exc}", err=True)
            ctx.exit(EXIT_CONFIG)
        except StorageError as exc:
            click.echo(f"Error: storage: {exc}", err=True)
            ctx.exit(EXIT_STORAGE)


def config_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_dir",
        metavar="DIR",
        type=click.Path(path_type=Path),
        help="Config directory (default: $NEWSMON_CONFIG, else ./config).",
    )(command)


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """`7d`, `24h`, `30m` back from now, or an ISO 8601 date or datetime (UTC if no zone)."""
    if not text:
        return None
    now = now or datetime.now(UTC)
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a duration like 7d nor an ISO date"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group(cls=NewsmonGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsmon")
def cli() -> None:
    """newsmon: watch news sources, keep clean, tagged, deduplicated articles."""


@cli.command()
@config_option
@click.option("--source", "sources", multiple=True, metavar="NAME",
              help="Crawl only this source (repeatable; also disabled ones).")  # fmt: skip
@click.option("--log-level", default="INFO", show_default=True, type=LOG_LEVELS,
              help="Log verbosity.")  # fmt: skip
def crawl(config_dir: Path | None, sources: tuple[str, ...], log_level: str) -> None:
    """One pass over the enabled sources, then a summary.

    Exits 0 when the pass ran, even if some sources failed; 2 on a config error; 1 when
    storage fails.
    """
    from crawler.run_pass import run_pass  # Scrapy is heavy: load it only to crawl

    config = load_config(config_dir)
    summary = run_pass(config, list(sources), log_level.upper())
    ok = len(summary.sources) - len(summary.failed)
    click.echo(f"Sources: {ok} ok, {len(summary.failed)} failed")
    for name, line in summary.sources.items():
        click.echo(f"  {name}: {line}")
    click.echo(
        f"Articles: {summary.new} new, {summary.known + summary.same_article} known, "
        f"{summary.skipped} skipped"
    )
    click.echo("Hits: " + (", ".join(f"{t} {n}" for t, n in summary.hits.items()) or "no topics"))
    if summary.storage_errors:
        click.echo(f"Error: storage: {summary.storage_errors} article(s) could not be stored "
                   f"in {safe_url(config.settings.database)}", err=True)  # fmt: skip
        sys.exit(EXIT_STORAGE)


def setup_logging(
    level: str, log_file: Path | None, live: bool = False
) -> LiveStatusHandler | None:
    """newsmon's own lines at `level`; Scrapy's only from WARNING unless debugging. With
    `live`, standard error gets a status line under the log (see crawler.live_view)."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    console = LiveStatusHandler(sys.stderr) if live else logging.StreamHandler(sys.stderr)
    handlers: list[logging.Handler] = [console]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    if level != "DEBUG":
        for noisy in ("scrapy", "apscheduler", "py.warnings"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return console if isinstance(console, LiveStatusHandler) else None


@cli.command()
@config_option
@click.option("--log-level", default="INFO", show_default=True, type=LOG_LEVELS,
              help="Log verbosity.")  # fmt: skip
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the log to this file.")  # fmt: skip
def run(config_dir: Path | None, log_level: str, log_file: Path | None) -> None:
    """Poll every enabled source on its schedule until SIGTERM or Ctrl-C.

    Config edits take effect without a restart (on file change or SIGHUP).
    """
    from crawler.service import run_forever  # Scrapy and the reactor: only to crawl

    config = load_config(config_dir)
    engine_for(config.settings.database)  # an unreachable store fails before anything starts
    live = setup_logging(log_level.upper(), log_file, live=sys.stderr.isatty())
    run_forever(config, log_level.upper(), live)


@cli.command()
@config_option
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), required=True,
              help="Output format.")  # fmt: skip
@click.option("--topic", metavar="T", help="Only articles tagged with this topic.")
@click.option("--since", metavar="DATE", help="Fetched since an ISO date or a duration (7d).")
@click.option("--output", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of standard output.")  # fmt: skip
def export(config_dir: Path | None, fmt: str, topic: str | None, since: str | None,
           output: Path | None) -> None:  # fmt: skip
    """One record per stored article, oldest first."""
    config = load_config(config_dir)
    _check_topic(config, topic)
    records = iter_records(engine_for(config.settings.database), topic, parse_since(since))
    write = write_jsonl if fmt == "jsonl" else write_csv
    if output is None:
        write(records, sys.stdout)
        return
    partial = output.with_name(output.name + ".part")  # never leave a half-written export
    with partial.open("w", encoding="utf-8", newline="") as out:
        count = write(records, out)
    partial.replace(output)
    click.echo(f"Wrote {count} records to {output}", err=True)


@cli.command()
@config_option
@click.option("--topic", metavar="T", help="Only this topic.")
@click.option("--since", default="7d", show_default=True, metavar="DATE",
              help="Fetched since a duration (7d, 24h) or an ISO date.")  # fmt: skip
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1),
              help="At most this many rows.")  # fmt: skip
def hits(config_dir: Path | None, topic: str | None, since: str, limit: int) -> None:
    """Tagged articles, newest first, as a terminal table."""
    config = load_config(config_dir)
    _check_topic(config, topic)
    engine = engine_for(config.settings.database)
    rows = list(iter_records(engine, topic, parse_since(since), newest_first=True, limit=limit,
                             tagged=True))  # fmt: skip
    if not rows:
        click.echo("No hits.")
        return
    width = shutil.get_terminal_size((120, 24)).columns
    for record in rows:
        date = (record["published"] or record["fetched_at"])[:10]
        topics = ",".join(record["topics"])
        head = f"{record['id']:>6}  {date}  {record['source'][:18]:<18}  {topics[:28]:<28}  "
        title = (record["title"] or record["url"]).replace("\n", " ")
        click.echo(head + title[: max(20, width - len(head))])
        terms = "; ".join(f"{t}: {', '.join(m)}" for t, m in record["matches"].items())
        click.echo(" " * 8 + click.style(f"{terms}  {record['url']}", dim=True))


def _check_topic(config: Config, topic: str | None) -> None:
    if topic and topic not in {rule.name for rule in config.topics}:
        raise ConfigError(f"{config.directory / 'topics.yaml'}: no topic named {topic!r}")


@cli.group()
def topics() -> None:
    """Tune topics."""


@topics.command("test")
@config_option
@click.argument("text", required=False)
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the text from a file (an .html file is extracted first).")  # fmt: skip
@click.option("--url", help="Fetch this page and extract its article text.")
def topics_test(config_dir: Path | None, text: str | None, file: Path | None,
                url: str | None) -> None:  # fmt: skip
    """Which topics and which terms match TEXT, a file or a page."""
    if sum(x is not None for x in (text, file, url)) != 1:
        raise click.UsageError("give exactly one of TEXT, --file or --url")
    config = load_config(config_dir)
    title = None
    if file is not None:
        text = file.read_text(encoding="utf-8", errors="replace")
        if file.suffix.lower() in (".html", ".htm"):
            title, text = _extract(text, file.resolve().as_uri())
    elif url is not None:
        title, text = _extract(_fetch_page(url, config), url)
    matches = Matcher(config.topics).match(title, text or "")
    if title:
        click.echo(f"Title: {title}")
    if not matches:
        click.echo("No topic matches.")
    for topic, terms in matches.items():
        click.echo(f"{topic}: {', '.join(terms)}")


def _extract(html: str, url: str) -> tuple[str | None, str]:
    from pipelines.extraction import extract_article

    extracted = extract_article(html, url)
    if extracted is None:
        raise click.ClickException(f"no article text found in {url}")
    return extracted.title, extracted.text


def _fetch_page(url: str, config: Config) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"not an http(s) URL: {url}", param_hint="--url")
    settings = config.settings
    if not settings.allow_private_networks:
        for *_, address in socket.getaddrinfo(parts.hostname, parts.port or 443):
            if not is_public_address(address[0]):
                raise click.ClickException(
                    f"{parts.hostname} resolves to non-public address {address[0]} "
                    "(allow_private_networks is off)"
                )
    request = urllib.request.Request(url, headers={"User-Agent": settings.user_agent})
    try:
        with urllib.request.urlopen(request, timeout=settings.download_timeout) as response:
            body = response.read(settings.max_download_size + 1)
            charset = response.headers.get_content_charset() or "utf-8"
    except OSError as exc:
        raise click.ClickException(f"could not fetch {url}: {exc}") from None
    if len(body) > settings.max_download_size:
        raise click.ClickException(f"{url} is larger than max_download_size")
    return body.decode(charset, errors="replace")


@cli.group()
def sources() -> None:
    """Inspect sources."""


@sources.command("list")
@config_option
def sources_list(config_dir: Path | None) -> None:
    """Each configured source with its last fetch result."""
    config = load_config(config_dir)
    state = CrawlState(engine_for(config.settings.database)).all()
    for source in config.sources:
        row = state.get(source.name, {})
        flag = "" if source.enabled else " (disabled)"
        click.echo(f"{source.name}{flag}  [{source.kind}] {source.url}")
        if not row.get("last_fetch_at"):
            click.echo("    never fetched")
            continue
        when = row["last_fetch_at"].strftime("%Y-%m-%d %H:%M UTC")
        line = f"    last fetch {when}: {row['last_status']}"
        if row["last_status"] == "error":
            line += f": {row['last_error']} ({row['consecutive_failures']} in a row)"
        elif row["last_status"] == "ok":
            line += f", {row['last_entries']} entries, {row['last_new']} new"
        click.echo(line)
        if row.get("last_problem"):
            click.echo(f"    problem: {row['last_problem']}")


@sources.command("enable")
@config_option
@click.argument("name")
def sources_enable(config_dir: Path | None, name: str) -> None:
    """Enable source NAME in sources.yaml (comments and layout are kept)."""
    set_enabled(config_dir_for(config_dir), name, True)
    click.echo(f"{name}: enabled")


@sources.command("disable")
@config_option
@click.argument("name")
def sources_disable(config_dir: Path | None, name: str) -> None:
    """Disable source NAME in sources.yaml (comments and layout are kept)."""
    set_enabled(config_dir_for(config_dir), name, False)
    click.echo(f"{name}: disabled")


@sources.command("status")
@config_option
def sources_status(config_dir: Path | None) -> None:
    """Health of every source: last run, success, error, failures, new articles, schedule.

    Flags: FAILING (the last pass failed), NEVER OK (polled, never successfully), SILENT (no
    new article for `silent_after`), NOTHING NEW YET (3 passes or more, no new article).
    """
    config = load_config(config_dir)
    state = CrawlState(engine_for(config.settings.database))
    now = datetime.now(UTC)
    rows = state.all()
    day = state.new_articles_since(now - timedelta(days=1))
    week = state.new_articles_since(now - timedelta(days=7))
    silent_after = timedelta(seconds=parse_duration(config.settings.silent_after))
    for source in config.sources:
        row = rows.get(source.name, {})
        flags = source_flags(row, source.enabled, now, silent_after)
        head = f"{source.name}{' [' + ', '.join(flags) + ']' if flags else ''}"
        click.echo(click.style(head, fg="red" if flags else None, bold=bool(flags)))
        click.echo(f"    last run {_when(row.get('last_fetch_at'), now)}"
                   f" ({row.get('last_status') or 'never'}), "
                   f"last success {_when(row.get('last_success_at'), now)}")  # fmt: skip
        if row.get("last_error"):
            click.echo(f"    last error: {row['last_error']} "
                       f"({row.get('consecutive_failures', 0)} in a row)")  # fmt: skip
        interval = row.get("interval")
        click.echo(
            f"    new articles: {day.get(source.name, 0)} in 24h, {week.get(source.name, 0)} in 7d;"
            f" interval {describe_seconds(interval) if interval else source.cron or '-'},"
            f" next run {_when(row.get('next_run_at'), now)}"
        )


def source_flags(row: dict[str, Any], enabled: bool, now: datetime,
                 silent_after: timedelta) -> list[str]:  # fmt: skip
    """Why a source needs a look; a broken source must never fail silently."""
    if not enabled:
        return ["disabled"]
    flags = []
    if row.get("consecutive_failures"):
        flags.append("FAILING")
    if row.get("last_fetch_at") and not row.get("last_success_at"):
        flags.append("NEVER OK")
    last_new = row.get("last_new_at")
    if last_new and now - last_new > silent_after:
        flags.append("SILENT")
    elif not last_new and row.get("last_success_at") and (row.get("passes") or 0) >= 3:
        flags.append("NOTHING NEW YET")
    return flags


def describe_seconds(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.0f}s"


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    delta = (moment - now).total_seconds()
    text = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{text} (in {describe_seconds(delta)})" if delta > 0 else text


@cli.group("config")
def config_group() -> None:
    """Check the configuration."""


@config_group.command("check")
@config_option
def config_check(config_dir: Path | None) -> None:
    """Validate settings.yaml, sources.yaml and topics.yaml; exit 2 on the first problem."""
    config = load_config(config_dir)
    enabled = len(config.enabled_sources())
    click.echo(f"{config.directory}: ok")
    click.echo(f"  sources: {len(config.sources)} ({enabled} enabled)")
    click.echo(f"  topics: {', '.join(rule.name for rule in config.topics) or 'none'}")
    click.echo(f"  database: {safe_url(config.settings.database)}")


def main() -> None:
    cli(prog_name="newsmon")


if __name__ == "__main__":
    main()
