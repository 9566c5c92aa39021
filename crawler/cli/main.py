"""The `newsmon` command line: a thin layer over the library.

Each command loads the config, calls one function and prints; `crawler.cli.base` turns
domain errors into messages and exit codes (2 for a config or usage error, 1 for a storage
error). Commands that only read open the store with `open_store`, which never creates or
migrates it. The `sources` commands live in `crawler.cli.sources`.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import click

from crawler.cli.base import (
    EXIT_STORAGE,
    LOG_LEVELS,
    NewsmonGroup,
    UserError,
    config_option,
    file_error,
    parse_since,
)
from crawler.cli.review import review, serve  # Flask loads only inside `serve`
from crawler.cli.sources import sources
from crawler.cli.topics import topics
from crawler.config.files import DATABASE_ENV, Config, ConfigError, load_config
from crawler.heap import keep_large_blocks_off_heap
from crawler.review.export import write_csv, write_jsonl
from crawler.schedule.live_view import LiveStatusHandler
from crawler.store.database import (
    StorageError,
    check_url,
    describe_store,
    engine_for,
    open_store,
    safe_url,
)
from crawler.store.queries import copies_of, iter_records
from crawler.store.reviews import UnknownArticle, mark_of


@click.group(cls=NewsmonGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsmon")
def cli() -> None:
    """newsmon: watch news sources, keep clean, tagged, deduplicated articles."""


@cli.command()
@config_option
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="NAME",
    help="Crawl only this source (repeatable; also disabled ones).",
)
@click.option(
    "--log-level", default="INFO", show_default=True, type=LOG_LEVELS, help="Log verbosity."
)
def crawl(config_dir: Path | None, sources: tuple[str, ...], log_level: str) -> None:
    """One pass over the enabled sources, then a summary.

    The summary counts the sources ok, degraded and failed (each with its result), the
    articles new, known and skipped, and the hits per topic.

    Exits 0 when the pass ran, even if some sources failed or some articles failed (their
    links are owed to the next pass); 2 on a config error; 1 when storage fails; 130 after
    Ctrl-C and 143 after SIGTERM (the pass was interrupted: what it owes, the next one does).
    """
    from crawler.schedule.one_pass import run_pass  # Scrapy is heavy: load it only to crawl

    config = load_config(config_dir)
    summary = run_pass(config, list(sources), log_level.upper())
    unwell = len(summary.failed) + len(summary.degraded) + len(summary.interrupted)
    counts = [
        f"{len(summary.sources) - unwell} ok",
        f"{len(summary.degraded)} degraded",
        f"{len(summary.failed)} failed",
    ]
    if summary.interrupted:
        counts.append(f"{len(summary.interrupted)} interrupted")
    click.echo(f"Sources: {', '.join(counts)}")
    for name, line in summary.sources.items():
        click.echo(f"  {name}: {line}")
    owed = f", {summary.failed_articles} owed to the next pass" if summary.failed_articles else ""
    headline_only = f" ({summary.headline_only} headline-only)" if summary.headline_only else ""
    click.echo(
        f"Articles: {summary.new} new{headline_only}, "
        f"{summary.known + summary.same_article} known, "
        f"{summary.skipped} skipped{owed}"
    )
    click.echo("Hits: " + (", ".join(f"{t} {n}" for t, n in summary.hits.items()) or "no topics"))
    if summary.storage_errors:
        click.echo(
            f"Error: storage: {summary.storage_errors} article(s) could not be stored "
            f"in {safe_url(config.settings.database)}",
            err=True,
        )
    if summary.signal is not None:
        name = signal.Signals(summary.signal).name
        click.echo(
            f"Interrupted by {name}: what was stored stays; "
            f"{summary.failed_articles} article link(s) are owed to the next pass",
            err=True,
        )
        sys.exit(128 + summary.signal)  # 130 for SIGINT, as shells expect
    if summary.storage_errors:
        sys.exit(EXIT_STORAGE)


def setup_logging(
    level: str, log_file: Path | None, live: bool = False
) -> LiveStatusHandler | None:
    """newsmon's own lines at `level`; Scrapy's only from WARNING unless debugging. With
    `live`, standard error gets a status line under the log (see crawler.schedule.live_view)."""
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
@click.option(
    "--log-level", default="INFO", show_default=True, type=LOG_LEVELS, help="Log verbosity."
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the log to this file.",
)
def run(config_dir: Path | None, log_level: str, log_file: Path | None) -> None:
    """Poll every enabled source on its schedule until SIGTERM or Ctrl-C.

    Config edits take effect without a restart (on file change or SIGHUP).
    """
    from crawler.schedule.service import run_forever  # Scrapy and the reactor: only to crawl

    config = load_config(config_dir)
    engine_for(config.settings.database)  # an unreachable store fails before anything starts
    try:
        live = setup_logging(log_level.upper(), log_file, live=sys.stderr.isatty())
    except OSError as exc:
        raise file_error(log_file or Path(), exc) from None
    run_forever(config, log_level.upper(), live)


@cli.command()
@config_option
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), required=True, help="Output format."
)
@click.option("--topic", metavar="T", help="Only articles tagged with this topic.")
@click.option("--since", metavar="DATE", help="Fetched since an ISO date or a duration (7d).")
@click.option(
    "--output",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of standard output.",
)
def export(
    config_dir: Path | None, fmt: str, topic: str | None, since: str | None, output: Path | None
) -> None:
    """One record per stored article, oldest first.

    --since filters on the date an article was fetched (`fetched_at`). With --output the file
    is written completely or not at all. The fields are listed in docs/exports.md."""
    config = load_config(config_dir)
    _check_topic(config, topic)
    records = iter_records(open_store(config.settings.database), topic, parse_since(since))
    write = write_jsonl if fmt == "jsonl" else write_csv
    if output is None:
        try:
            write(records, sys.stdout)
        except BrokenPipeError:
            raise  # the reader left (`| head`): Python's quiet exit
        except OSError as exc:  # a full disk...
            raise UserError(f"cannot write standard output: {exc.strerror or exc}") from None
        return
    partial = output.with_name(output.name + ".part")  # never leave a half-written export
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            count = write(records, out)
        partial.replace(output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise file_error(output, exc) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    click.echo(f"Wrote {count} records to {output}", err=True)


HEADLINE_MARK = "[headline]"  # before the title of a headline-only article in `hits`


@cli.command()
@config_option
@click.option("--topic", metavar="T", help="Only this topic.")
@click.option(
    "--since",
    default="7d",
    show_default=True,
    metavar="DATE",
    help="Fetched since a duration (7d, 24h) or an ISO date.",
)
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="At most this many rows.",
)
def hits(config_dir: Path | None, topic: str | None, since: str, limit: int) -> None:
    """Tagged articles, newest first, as a terminal table; near copies are listed under
    their original. [headline] marks a headline-only article: its page gave no text (a
    paywall), so it was tagged on the entry's title and summary."""
    config = load_config(config_dir)
    _check_topic(config, topic)
    engine = open_store(config.settings.database)
    rows = list(
        iter_records(
            engine,
            topic,
            parse_since(since),
            newest_first=True,
            limit=limit,
            tagged=True,
            originals=True,
        )
    )
    copies = copies_of(engine, [record["id"] for record in rows])
    if not rows:
        click.echo("No hits.")
        return
    width = shutil.get_terminal_size((120, 24)).columns
    for record in rows:
        date = (record["published"] or record["fetched_at"])[:10]
        topics = ",".join(record["topics"])
        head = f"{record['id']:>6}  {date}  {record['source'][:18]:<18}  {topics[:28]:<28}  "
        title = (record["title"] or record["url"]).replace("\n", " ")
        if record["text_source"] == "feed":
            title = f"{HEADLINE_MARK} {title}"
        click.echo(head + title[: max(20, width - len(head))])
        terms = "; ".join(f"{t}: {', '.join(m)}" for t, m in record["matches"].items())
        if record["copies"]:
            terms += f"; copies: {record['copies']}"
        if record["review"]:
            terms += f"; review: {mark_of(record['review'])}"
        click.echo(" " * 8 + click.style(f"{terms}  {record['url']}", dim=True))
        for copy in copies.get(record["id"], []):
            line = f"{' ' * 8}copy {copy['id']}  {copy['source'][:18]}  {copy['title'] or ''}"
            click.echo(click.style(f"{line[: max(20, width - 2)]}  {copy['url']}", dim=True))


def _check_topic(config: Config, topic: str | None) -> None:
    if topic and topic not in {rule.name for rule in config.topics}:
        raise ConfigError(f"{config.directory / 'topics.yaml'}: no topic named {topic!r}")


@cli.command()
@config_option
@click.option("--topic", metavar="T", help="Only this topic (the others stay as they are).")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
def retag(config_dir: Path | None, topic: str | None, dry_run: bool) -> None:
    """Apply the current topics.yaml to every stored article and report, per topic, how many
    articles gained and lost it, with examples. Review decisions are kept.

    Topics no longer defined are removed (unless --topic). A running `newsmon run` re-tags by
    itself when topics.yaml changes."""
    from crawler.store.retag import retag as retag_archive

    config = load_config(config_dir)
    _check_topic(config, topic)
    # A dry run only reads: it neither creates nor upgrades the store.
    engine = (open_store if dry_run else engine_for)(config.settings.database)
    report = retag_archive(engine, config.topics, topic, dry_run)
    verb = "would change" if dry_run else "changed"
    click.echo(
        f"{report.articles} articles re-tagged{' (dry run: nothing written)' if dry_run else ''}"
    )
    for name, change in report.topics.items():
        click.echo(
            f"{name}: {verb}: +{change.gained} gained, -{change.lost} lost, "
            f"{change.changed_terms} with other terms"
        )
        for sign, examples in (("+", change.gained_examples), ("-", change.lost_examples)):
            for article_id, title in examples:
                click.echo(f"    {sign} {article_id:>6}  {title[:90]}")


@cli.command()
@config_option
@click.option("--topic", metavar="T", help="Only stories with an article tagged T.")
@click.option(
    "--since",
    default="7d",
    show_default=True,
    metavar="DATE",
    help="With an article fetched since a duration (7d) or an ISO date.",
)
@click.option(
    "--min-articles",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Hide smaller stories.",
)
def stories(config_dir: Path | None, topic: str | None, since: str, min_articles: int) -> None:
    """Stories: articles from one or more outlets about the same event, largest first."""
    from crawler.store.queries import list_stories

    config = load_config(config_dir)
    _check_topic(config, topic)
    found = list_stories(
        open_store(config.settings.database), topic, parse_since(since), min_articles
    )
    if not found:
        click.echo("No stories.")
    for story in found:
        click.echo(
            f"{story.id:>6}  {story.first_seen:%Y-%m-%d %H:%M}  {story.articles} articles, "
            f"{len(story.outlets)} outlets ({', '.join(story.outlets[:5])}); "
            f"{', '.join(story.languages) or '?'}"
        )
        click.echo(f"        {' '.join(story.title.split())[:100]}")


@cli.command()
@config_option
@click.argument("article_id", type=int)
def versions(config_dir: Path | None, article_id: int) -> None:
    """Earlier texts of article ARTICLE_ID, with what each update changed."""
    from crawler.store.queries import versions_of

    config = load_config(config_dir)
    try:
        found = versions_of(open_store(config.settings.database), article_id)
    except UnknownArticle as exc:
        raise UserError(str(exc)) from None
    if not found:
        click.echo(f"Article {article_id} has no earlier versions.")
    for version in found:
        click.echo(
            f"{version['fetched_at']} until {version['replaced_at']}: then {version['change']}"
        )
        click.echo(f"    {' '.join((version['title'] or '').split())[:100]}")


@cli.group("config")
def config_group() -> None:
    """Check the configuration."""


@config_group.command("check")
@config_option
@click.option(
    "--connect", is_flag=True, help="Also open the database (creating nothing) and report on it."
)
def config_check(config_dir: Path | None, connect: bool) -> None:
    """Validate settings.yaml, sources.yaml, topics.yaml and the database URL; exit 2 on the
    first problem."""
    config = load_config(config_dir)
    database = config.settings.database
    try:
        check_url(database)
        state = describe_store(database) if connect else None
    except StorageError as exc:  # a config check's every problem is the user's to fix
        raise ConfigError(f"{_database_origin(config)}: field 'database': {exc}") from None
    enabled = len(config.enabled_sources())
    click.echo(f"{config.directory}: ok")
    click.echo(f"  sources: {len(config.sources)} ({enabled} enabled)")
    click.echo(f"  topics: {', '.join(rule.name for rule in config.topics) or 'none'}")
    click.echo(f"  database: {safe_url(database)}")
    if state is not None:
        click.echo(f"  store: {state}")


def _database_origin(config: Config) -> str:
    """Where the database URL comes from, for messages."""
    return (
        f"${DATABASE_ENV}"
        if os.environ.get(DATABASE_ENV)
        else str(config.directory / "settings.yaml")
    )


def _store_must_be_ready(command: click.Command) -> click.Command:
    """`command` (defined elsewhere, opening the store with `engine_for`) first checks, as the
    read-only commands here do, that the store exists at the newest revision: `engine_for`
    would create a missing one and migrate an older one, and is a no-op on a ready one."""
    callback = command.callback
    assert callback is not None

    @functools.wraps(callback)
    def checked(*args: Any, **kwargs: Any) -> Any:
        open_store(load_config(kwargs.get("config_dir")).settings.database)
        return callback(*args, **kwargs)

    command.callback = checked
    return command


cli.add_command(sources)
cli.add_command(topics)
cli.add_command(_store_must_be_ready(serve))  # it only reads articles (and writes reviews)
cli.add_command(review)


def main() -> None:
    keep_large_blocks_off_heap()
    cli(prog_name="newsmon")


if __name__ == "__main__":
    main()
