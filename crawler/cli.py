"""The `newsmon` command line: a thin layer over the library.

Each command loads the config, calls one function and prints; `crawler.cli_options` turns
domain errors into messages and exit codes (2 for a config error, 1 for a storage error).
The `sources` commands live in `crawler.sources_cli`.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import click

from crawler.cli_options import (
    EXIT_STORAGE,
    LOG_LEVELS,
    NewsmonGroup,
    config_option,
    parse_since,
)
from crawler.config import Config, ConfigError, load_config
from crawler.database import engine_for, safe_url
from crawler.export import copies_of, iter_records, write_csv, write_jsonl
from crawler.heap import keep_large_blocks_off_heap
from crawler.live_view import LiveStatusHandler
from crawler.review import mark_of
from crawler.sources_cli import sources
from crawler.topics_cli import topics
from crawler.web.commands import review, serve  # Flask loads only inside `serve`


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
    """Tagged articles, newest first, as a terminal table; near copies are listed under
    their original."""
    config = load_config(config_dir)
    _check_topic(config, topic)
    engine = engine_for(config.settings.database)
    rows = list(iter_records(engine, topic, parse_since(since), newest_first=True, limit=limit,
                             tagged=True, originals=True))  # fmt: skip
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
    articles gained and lost it, with examples. Review decisions are kept."""
    from crawler.retag import retag as retag_archive

    config = load_config(config_dir)
    _check_topic(config, topic)
    report = retag_archive(engine_for(config.settings.database), config.topics, topic, dry_run)
    verb = "would change" if dry_run else "changed"
    click.echo(
        f"{report.articles} articles re-tagged{' (dry run: nothing written)' if dry_run else ''}"
    )
    for name, change in report.topics.items():
        click.echo(f"{name}: {verb}: +{change.gained} gained, -{change.lost} lost, "
                   f"{change.changed_terms} with other terms")  # fmt: skip
        for sign, examples in (("+", change.gained_examples), ("-", change.lost_examples)):
            for article_id, title in examples:
                click.echo(f"    {sign} {article_id:>6}  {title[:90]}")


@cli.command()
@config_option
@click.option("--topic", metavar="T", help="Only stories with an article tagged T.")
@click.option("--since", default="7d", show_default=True, metavar="DATE",
              help="With an article fetched since a duration (7d) or an ISO date.")  # fmt: skip
@click.option("--min-articles", default=2, show_default=True, type=click.IntRange(min=1),
              help="Hide smaller stories.")  # fmt: skip
def stories(config_dir: Path | None, topic: str | None, since: str, min_articles: int) -> None:
    """Stories: articles from one or more outlets about the same event, largest first."""
    from crawler.export import list_stories

    config = load_config(config_dir)
    _check_topic(config, topic)
    found = list_stories(engine_for(config.settings.database), topic, parse_since(since),
                         min_articles)  # fmt: skip
    if not found:
        click.echo("No stories.")
    for story in found:
        click.echo(f"{story.id:>6}  {story.first_seen:%Y-%m-%d %H:%M}  {story.articles} articles, "
                   f"{len(story.outlets)} outlets ({', '.join(story.outlets[:5])}); "
                   f"{', '.join(story.languages) or '?'}")  # fmt: skip
        click.echo(f"        {' '.join(story.title.split())[:100]}")


@cli.command()
@config_option
@click.argument("article_id", type=int)
def versions(config_dir: Path | None, article_id: int) -> None:
    """Earlier texts of article ARTICLE_ID, with what each update changed."""
    from crawler.export import versions_of

    config = load_config(config_dir)
    found = versions_of(engine_for(config.settings.database), article_id)
    if not found:
        click.echo(f"Article {article_id} has no earlier versions.")
    for version in found:
        click.echo(f"{version['fetched_at']} until {version['replaced_at']}: then "
                   f"{version['change']}")  # fmt: skip
        click.echo(f"    {' '.join((version['title'] or '').split())[:100]}")


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


cli.add_command(sources)
cli.add_command(topics)
cli.add_command(serve)
cli.add_command(review)


def main() -> None:
    keep_large_blocks_off_heap()
    cli(prog_name="newsmon")


if __name__ == "__main__":
    main()
