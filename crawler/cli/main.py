"""The `newsmon` command line: a thin layer over the library.

Each command loads the config, calls one function and prints; `crawler.cli.base` turns
domain errors into messages and exit codes (2 for a config or usage error, 1 for a storage
error). Commands that only read open the store with `open_store`, which never creates or
migrates it. The `sources` commands live in `crawler.cli.sources`, the `alerts` commands in
`crawler.cli.alerts`.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crawler.cli.base import (
    EXIT_STORAGE,
    LOG_LEVELS,
    NewsmonGroup,
    UserError,
    cells,
    config_option,
    echo_json,
    file_error,
    fit,
    group_config_option,
    json_option,
    parse_since,
    read_store,
    write_store,
)
from crawler.config.files import (
    ALERTS_FILE,
    CONFIG_FILES,
    DATABASE_ENV,
    Config,
    ConfigError,
    config_dir,
    load_config,
    shipped_config,
)
from crawler.config.settings import changed, yaml_value
from crawler.errors import StorageError, UnknownArticle
from crawler.heap import keep_large_blocks_off_heap
from crawler.logs import LibraryFilter
from crawler.schedule.live_view import LiveStatusHandler
from crawler.store.states import REVIEW_STATES
from crawler.text.languages import language_code
from crawler.text.urls import without_password

if TYPE_CHECKING:
    from crawler.schedule.one_pass import PassSummary


# The commands of the other modules of this package, loaded when one runs (NewsmonGroup).
OTHER_COMMANDS = {
    "alerts": "crawler.cli.alerts:alerts",
    "review": "crawler.cli.review:review",
    "schedule": "crawler.cli.distributed:schedule",
    "serve": "crawler.cli.review:serve",  # Flask loads only inside `serve`
    "sources": "crawler.cli.sources:sources",
    "topics": "crawler.cli.topics:topics",
    "worker": "crawler.cli.distributed:worker",
    "workers": "crawler.cli.distributed:workers",
}


@click.group(
    cls=NewsmonGroup,
    lazy=OTHER_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="newsmon")
@group_config_option
def cli() -> None:
    """newsmon: watch news sources, keep clean, tagged, deduplicated articles."""


@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that are already there.")
def init(directory: Path | None, force: bool) -> None:
    """Write the shipped configuration (settings.yaml, sources.yaml, topics.yaml) into
    DIRECTORY (default: $NEWSMON_CONFIG, else ./config), to edit and start from.

    Refuses to overwrite a file that exists unless --force; exits 2 then.
    """
    target = config_dir(directory)
    shipped = shipped_config()
    existing = [name for name in CONFIG_FILES if (target / name).exists()]
    if existing and not force:
        raise UserError(
            f"{target} already has {', '.join(existing)}: nothing written (--force overwrites them)"
        )
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in CONFIG_FILES:
            (target / name).write_bytes(shipped.joinpath(name).read_bytes())
    except OSError as exc:
        raise file_error(target, exc) from None
    option = "" if target == config_dir(None) else f" --config {target}"
    click.echo(f"Wrote {', '.join(CONFIG_FILES)} to {target}")
    click.echo(f"Next: newsmon{option} config check, then newsmon{option} crawl")


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
    "--log-level",
    default="WARNING",
    show_default=True,
    type=LOG_LEVELS,
    help="Log verbosity. The summary reports every source and failure; INFO adds one line "
    "per failed source or article as it happens, DEBUG everything Scrapy says.",
)
@json_option
def crawl(config_dir: Path | None, sources: tuple[str, ...], log_level: str, as_json: bool) -> None:
    """One pass over the enabled sources, then a summary.

    The summary counts the sources ok, degraded and failed (each with its result), the
    articles new, known and skipped, and the hits per topic (--json: the same, for scripts).
    On a terminal, a status line shows the sources done, pages and new articles meanwhile.

    Exits 0 when the pass ran, even if some sources failed or some articles failed (their
    links are owed to the next pass); 2 on a config error; 1 when storage fails; 130 after
    Ctrl-C and 143 after SIGTERM (the pass was interrupted: what it owes, the next one does).
    """
    from crawler.extract.pool import start_fork_server

    config = load_config(config_dir)
    if config.settings.extract_workers != 0 and config.enabled_sources(list(sources)):
        # The extraction fork server's imports (language data: 0.8 s of CPU) overlap the
        # crawl's own (Scrapy's) and its feeds' download, on another core, instead of
        # following them: `python bench/run.py throughput`. It forks no worker until a page
        # needs one; a crawl that finds nothing new only leaves it to exit with this process.
        start_fork_server()
    from crawler.schedule.one_pass import run_pass  # Scrapy is heavy: load it only to crawl

    live = setup_logging(log_level.upper(), None, live=sys.stderr.isatty())
    summary = run_pass(config, list(sources), log_level.upper(), live)
    if as_json:
        echo_json(summary.as_json())
    else:
        print_summary(summary)
    if summary.storage_errors:
        from crawler.store.database import safe_url

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


def print_summary(summary: PassSummary) -> None:
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
        handler.setLevel(level)
        handler.addFilter(LibraryFilter(level))
        root.addHandler(handler)
    root.setLevel(level)
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
    # An unreachable store fails before anything starts.
    from crawler.store.database import engine_for

    engine_for(config.settings.database).dispose()
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
    from crawler.review.export import write_csv, write_jsonl
    from crawler.store.queries import iter_records

    records = iter_records(read_store(config.settings.database), topic, parse_since(since))
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
@click.option("--source", metavar="NAME", help="Only this source.")
@click.option("--lang", metavar="CODE", help="Only this language (ISO 639-1: en, fr, de...).")
@click.option(
    "--review",
    type=click.Choice(REVIEW_STATES),
    help="Only the articles in this review state.",
)
@click.option(
    "--search",
    metavar="QUERY",
    help='Only articles whose title or text holds every word ("phrases", prefix*).',
)
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="At most this many rows.",
)
@json_option
def hits(
    config_dir: Path | None,
    topic: str | None,
    since: str,
    source: str | None,
    lang: str | None,
    review: str | None,
    search: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Tagged articles, newest published first (as in the web app), as a table that fits the
    terminal; near copies are listed under their original. [headline] marks a headline-only
    article: its page gave no text (a paywall), so it was tagged on the entry's title and
    summary. --json prints their export records, each with its near copies under
    `copy_records`."""
    from crawler.store.queries import copies_of
    from crawler.store.search import HitFilter, iter_hits

    config = load_config(config_dir)
    _check_topic(config, topic)
    engine = read_store(config.settings.database)
    language = language_code(lang) if lang else None
    if lang and not language:
        raise click.BadParameter(f"{lang!r} is not a language code", param_hint="--lang")
    found = HitFilter(
        topic=topic,
        source=source,
        language=language,
        review=review,
        q=search or "",
        fetched_since=parse_since(since),
    )
    rows = list(iter_hits(engine, found, limit=limit))
    copies = copies_of(engine, [record["id"] for record in rows])
    if as_json:
        echo_json([{**r, "copy_records": copies.get(r["id"], [])} for r in rows])
        return
    if not rows:
        click.echo(_no_hits(engine, topic, since))
        return
    for line in hits_table(rows, copies, shutil.get_terminal_size((120, 24)).columns):
        click.echo(line)


def hits_table(
    rows: list[dict[str, Any]], copies: dict[int, list[dict[str, Any]]], width: int
) -> list[str]:
    """The hits as terminal lines no wider than `width`: per hit a line with id, date, source,
    topics and title, and a dim line with the matched terms and the URL; cut with an ellipsis.
    On a narrow terminal the topics column goes first, then the source, so that the title
    keeps 20 columns or more."""
    from crawler.store.reviews import mark_of

    width = max(width, 40)
    source_width = min(18, (width - 40) // 3) if width >= 52 else 0
    topics_width = min(28, (width - 40) // 2) if width >= 72 else 0
    lines = []
    for record in rows:
        date = (record["published"] or record["fetched_at"])[:10]
        head = f"{record['id']:>6}  {date}  "
        if source_width:
            head += fit(record["source"], source_width) + "  "
        if topics_width:
            head += fit(",".join(record["topics"]), topics_width) + "  "
        title = " ".join((record["title"] or record["url"]).split())
        if record.get("text_source") == "feed":
            title = f"{HEADLINE_MARK} {title}"
        lines.append(head + fit(title, width - cells(head)).rstrip())
        terms = "; ".join(f"{t}: {', '.join(m)}" for t, m in record["matches"].items())
        if record["copies"]:
            terms += f"; copies: {record['copies']}"
        if record["review"]:
            terms += f"; review: {mark_of(record['review'])}"
        lines.append(
            click.style(fit(f"{' ' * 8}{terms}  {record['url']}", width).rstrip(), dim=True)
        )
        for copy in copies.get(record["id"], []):
            title = " ".join((copy["title"] or "").split())
            # The URL before the title: what tells a copy apart survives a narrow terminal.
            line = f"{' ' * 8}copy {copy['id']}  {copy['source']}  {copy['url']}  {title}"
            lines.append(click.style(fit(line, width).rstrip(), dim=True))
    return lines


def _no_hits(engine: Any, topic: str | None, since: str) -> str:
    """What an empty hits list means, and what to do next."""
    from crawler.store.queries import count_articles

    stored = count_articles(engine)
    if not stored:
        return "No hits: no article stored yet. Run `newsmon crawl` to fetch the sources."
    scope = f" for topic {topic}" if topic else ""
    return (
        f"No hits{scope} since {since}: {stored} article(s) stored, none tagged in that "
        "time. `newsmon sources status` shows what the sources brought; "
        "`newsmon topics test --url URL` shows why an article did or did not match."
    )


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
    engine = (read_store if dry_run else write_store)(config.settings.database)
    report = retag_archive(engine, config.topics, topic, dry_run)
    verb = "would change" if dry_run else "changed"
    click.echo(
        f"{report.articles} articles re-tagged{' (dry run: nothing written)' if dry_run else ''}"
    )
    for name, change in report.topics.items():
        if not (change.gained or change.lost or change.changed_terms):
            click.echo(f"{name}: unchanged")
            continue
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
@json_option
def stories(
    config_dir: Path | None, topic: str | None, since: str, min_articles: int, as_json: bool
) -> None:
    """Stories: articles from one or more outlets about the same event, largest first."""
    from crawler.store.queries import count_articles, list_stories

    config = load_config(config_dir)
    _check_topic(config, topic)
    engine = read_store(config.settings.database)
    found = list_stories(engine, topic, parse_since(since), min_articles)
    if as_json:
        echo_json(found)
        return
    if not found:
        if not count_articles(engine):
            click.echo(
                "No stories: no article stored yet. Run `newsmon crawl` to fetch the sources."
            )
        else:
            click.echo(
                f"No stories of {min_articles} articles or more since {since}"
                f"{f' with topic {topic}' if topic else ''}: a story forms when outlets report "
                "the same event; --min-articles 1 lists single articles too."
            )
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
        found = versions_of(read_store(config.settings.database), article_id)
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
    """Validate settings.yaml, sources.yaml, topics.yaml, alerts.yaml (when there is one) and
    the database URL, and list the settings that differ from their defaults; exit 2 on the
    first problem."""
    from crawler.store.database import check_url, describe_store, safe_url

    config = load_config(config_dir)
    _check_alerts(config)
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
    _alerts_lines(config)
    click.echo(f"  database: {safe_url(database)}")
    if state is not None:
        click.echo(f"  store: {state}")
    # The database has its line above, its password hidden; the broker's is hidden too.
    others = [
        (spec, without_password(value) if spec.name == "broker" else value)
        for spec, value in changed(config.settings)
        if spec.name != "database"
    ]
    count = f"{len(others) or 'none'} {'differs' if len(others) == 1 else 'differ'}"
    click.echo(f"  settings: {count} from the defaults")
    for spec, value in others:
        click.echo(f"    {spec.name}: {yaml_value(value)} (default: {yaml_value(spec.default)})")


def _check_alerts(config: Config) -> None:
    """The templates of alerts.yaml compile and Apprise can use its channels."""
    if not config.alerts.channels:
        return
    from crawler.alerts.deliver import unsupported  # Apprise and Jinja: only with alerts
    from crawler.alerts.render import check_templates

    where = config.directory / ALERTS_FILE
    for rule in config.alerts.rules:
        check_templates(rule, str(where))
    for channel in unsupported(list(config.alerts.channels)):
        raise ConfigError(
            f"{where}: channel {channel.name!r}: not a URL Apprise can use: {channel.masked}"
        )


def _alerts_lines(config: Config) -> None:
    """A line on the alerts, then one per channel, masked."""
    alerts = config.alerts
    if not alerts.rules and not alerts.channels:
        click.echo("  alerts: none (no alerts.yaml)")
        return
    rules = len(alerts.rules)
    click.echo(
        f"  alerts: {rules} rule{'s' * (rules != 1)} "
        f"({', '.join(rule.name for rule in alerts.rules) or 'none'}), "
        f"{len(alerts.channels)} channel{'s' * (len(alerts.channels) != 1)}"
    )
    for channel in alerts.channels:
        click.echo(f"    {channel.name}: {channel.masked}")


def _database_origin(config: Config) -> str:
    """Where the database URL comes from, for messages."""
    return (
        f"${DATABASE_ENV}"
        if os.environ.get(DATABASE_ENV)
        else str(config.directory / "settings.yaml")
    )


def main() -> None:
    keep_large_blocks_off_heap()
    try:
        cli(prog_name="newsmon")
    finally:
        # The command is done (click exits through here): the collections that Python's
        # shutdown runs over every object left need not visit the crawl's heap, which the
        # operating system frees at once. 0.11 s of a 505-page crawl's 8.5 (`python
        # bench/run.py throughput`). Files are closed by then (commands write with `with`;
        # logging closes its handlers at exit).
        gc.freeze()


if __name__ == "__main__":
    main()
