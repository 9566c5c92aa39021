"""`newsmon sources ...`: list, status, enable, disable, add, check, import, export, reset
and poll.

Part of the command line (see crawler/cli/main.py). Edits of sources.yaml go through
`crawler.config.files` (comments and layout kept); discovery and previews through
`crawler.sources.onboarding`.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from crawler.cli.base import (
    UserError,
    config_option,
    echo_json,
    file_error,
    json_option,
    read_store,
    write_store,
)
from crawler.config.files import (
    SOURCE_KINDS,
    Config,
    ConfigError,
    Source,
    append_source,
    edit_sources,
    load_config,
    set_enabled,
)
from crawler.config.files import config_dir as config_dir_for
from crawler.config.settings import parse_duration
from crawler.match.terms import Matcher
from crawler.sources.fetch import FetchError, fetch
from crawler.sources.onboarding import Discovery, Found, discover, source_name
from crawler.sources.opml import OpmlError, OpmlFeed, read_opml, write_opml
from crawler.sources.search_engines import describe_resolution
from crawler.store import source_requests
from crawler.store.crawl_state import CrawlState, describe_seconds, source_flags
from crawler.store.owed import OwedLinks
from crawler.text.urls import canonicalize

PREVIEW_ENTRIES = 5
PREVIEW_ARTICLES = 3
POLL_WAIT = 3.0  # seconds `sources poll` waits for a running `newsmon run` to take the request


@click.group()
def sources() -> None:
    """Add, check and watch over sources."""


@sources.command("list")
@config_option
@json_option
def sources_list(config_dir: Path | None, as_json: bool) -> None:
    """Each configured source with its last fetch result."""
    config = load_config(config_dir)
    state = CrawlState(read_store(config.settings.database)).all()
    if as_json:
        echo_json([_listed(source, state.get(source.name, {})) for source in config.sources])
        return
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
        elif row["last_status"] == "interrupted":
            line += f": {row['last_error']}"
        elif row["last_status"] == "ok":
            line += f", {row['last_entries']} entries, {row['last_new']} new"
        if row.get("last_failed") and row["last_status"] != "interrupted":
            line += f"; {row['last_failure']}"
        click.echo(line)
        if row.get("last_problem"):
            click.echo(f"    problem: {row['last_problem']}")


def _listed(source: Source, row: dict[str, Any]) -> dict[str, Any]:
    keys = ("last_fetch_at", "last_status", "last_error", "consecutive_failures")
    keys += ("last_entries", "last_new", "last_failure", "last_problem")
    return {
        "name": source.name,
        "kind": source.kind,
        "url": source.url,
        "enabled": source.enabled,
        **{key: row.get(key) for key in keys},
    }


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
@json_option
def sources_status(config_dir: Path | None, as_json: bool) -> None:
    """Health of every source: last run, success, error, failures, new articles, schedule.

    Flags: FAILING (the last pass failed), DEGRADED (the source answered but articles of its
    last pass failed: their links are owed), INTERRUPTED (the last pass was stopped before its
    end), NEVER OK (polled, never successfully), SILENT (no new article for `silent_after`),
    NOTHING NEW YET (3 passes or more, no new article), SCHEDULE ERROR (`newsmon run` could
    not compute the next run and used the default interval).

    For a news search feed (Google News, Bing News): how the new entries of its last pass
    reached the publisher's article, and why the others stayed headline-only.
    """
    config = load_config(config_dir)
    engine = read_store(config.settings.database)
    state = CrawlState(engine)
    now = datetime.now(UTC)
    rows = state.all()
    debts = OwedLinks(engine).debts()
    day = state.new_articles_since(now - timedelta(days=1))
    week = state.new_articles_since(now - timedelta(days=7))
    silent_after = timedelta(seconds=parse_duration(config.settings.silent_after))
    if as_json:
        report = []
        for source in config.sources:
            row, debt = rows.get(source.name, {}), debts.get(source.name)
            report.append(
                {
                    **_listed(source, row),
                    "flags": source_flags(row, source.enabled, now, silent_after),
                    "last_success_at": row.get("last_success_at"),
                    "owed_links": debt.owed if debt else 0,
                    "gave_up_links": debt.gave_up if debt else 0,
                    "owed_last_error": debt.last_error if debt else None,
                    "schedule_error": row.get("schedule_error"),
                    "poll_requested_at": row.get("poll_requested_at"),
                    "new_24h": day.get(source.name, 0),
                    "new_7d": week.get(source.name, 0),
                    "interval_seconds": row.get("interval"),
                    "cron": source.cron,
                    "next_run_at": row.get("next_run_at"),
                    # the distributed mode: the `newsmon worker` that ran the last pass
                    "last_worker": row.get("last_worker"),
                    # a search source's last pass: entries resolved, and how; headline-only
                    "search_resolution": (
                        json.loads(row["last_resolution"]) if row.get("last_resolution") else None
                    ),
                }
            )
        echo_json(report)
        return
    for source in config.sources:
        row = rows.get(source.name, {})
        flags = source_flags(row, source.enabled, now, silent_after)
        head = f"{source.name}{' [' + ', '.join(flags) + ']' if flags else ''}"
        click.echo(click.style(head, fg="red" if flags else None, bold=bool(flags)))
        click.echo(
            f"    last run {_when(row.get('last_fetch_at'), now)}"
            f" ({row.get('last_status') or 'never'}), "
            f"last success {_when(row.get('last_success_at'), now)}"
            + (f", by worker {row['last_worker']}" if row.get("last_worker") else "")
        )
        if row.get("last_status") == "interrupted":
            click.echo(f"    last pass {row['last_error']}")
        elif row.get("last_error"):
            click.echo(
                f"    last error: {row['last_error']} "
                f"({row.get('consecutive_failures', 0)} in a row)"
            )
        if row.get("last_failed") and row.get("last_status") != "interrupted":
            click.echo(f"    last pass: {row['last_failure']}")
        if row.get("last_resolution"):
            counts = json.loads(row["last_resolution"])
            click.echo(f"    search entries, last pass: {describe_resolution(counts)}")
        debt = debts.get(source.name)
        if debt and debt.owed:
            click.echo(
                f"    owed links: {debt.owed}, fetched again at the next passes "
                f"(last error: {debt.last_error or 'none yet'})"
            )
        if debt and debt.gave_up:
            click.echo(
                f"    gave up: {debt.gave_up} link(s) after {config.settings.link_attempts}"
                f" attempts (last error: {debt.last_error})"
            )
        if row.get("schedule_error"):
            click.echo(
                f"    schedule error: {row['schedule_error']} (the default interval applies)"
            )
        if row.get("poll_requested_at"):
            click.echo(f"    poll requested {_when(row['poll_requested_at'], now)}")
        interval = row.get("interval")
        click.echo(
            f"    new articles: {day.get(source.name, 0)} in 24h, {week.get(source.name, 0)} in 7d;"
            f" interval {describe_seconds(interval) if interval else source.cron or '-'},"
            f" next run {_when(row.get('next_run_at'), now)}"
        )


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    delta = (moment - now).total_seconds()
    text = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{text} (in {describe_seconds(delta)})" if delta > 0 else text


@sources.command("add")
@config_option
@click.argument("url")
@click.option("--name", help="Source name (default: from the site's host).")
@click.option(
    "--kind",
    type=click.Choice(SOURCE_KINDS),
    help="Only look for this kind; `listing` monitors the page itself.",
)
@click.option("--yes", "-y", is_flag=True, help="Add without asking.")
def sources_add(
    config_dir: Path | None, url: str, name: str | None, kind: str | None, yes: bool
) -> None:
    """Find the feed or sitemap of URL (a homepage or a feed), preview it, and add it to
    sources.yaml (comments and layout are kept).

    Feeds are looked for in `<link rel=alternate>`, feed-looking links and common paths,
    sitemaps in robots.txt and common paths. The best candidate is validated and its latest
    entries and a few extracted articles are shown with the topics they would get. When
    nothing is found, every URL tried is listed with why it was refused."""
    config = load_config(config_dir)
    configured = _configured(config)
    try:
        given = canonicalize(url)
    except ValueError:
        raise UserError(f"not an absolute http(s) URL: {url}") from None
    if given in configured:
        click.echo(f"{url} is already source {configured[given]!r}; nothing added.")
        return
    discovery = discover(url, lambda u: fetch(u, config.settings), kind)
    found = _report(discovery, url)
    _preview(found, config)
    taken = {source.name for source in config.sources}
    if name in taken:
        raise ConfigError(f"{config.directory / 'sources.yaml'}: a source named {name!r} exists")
    if canonicalize(found.url) in configured:
        click.echo(f"{found.url} is already a source; nothing added.")
        return
    name = name or source_name(url, taken)
    entry: dict[str, Any] = {"name": name, "kind": found.kind, "url": found.url}
    if found.language:
        entry["language"] = found.language
    if not yes and not click.confirm(
        f"Add {found.kind} source {name!r} ({found.url})?", default=True
    ):
        click.echo("Nothing added.")
        return
    outlet = discovery.page_title or found.title or urlsplit(found.url).hostname
    comment = f"{outlet} (added by newsmon sources add, {date.today().isoformat()})"
    append_source(config.directory, entry, comment=_one_line(comment))
    click.echo(f"Added {found.kind} source {name!r} to {config.directory / 'sources.yaml'}.")


def _configured(config: Config) -> dict[str, str]:
    """The configured sources by the canonical form of their URL: name."""
    return {canonicalize(source.url): source.name for source in config.sources}


@sources.command("check")
@config_option
@click.argument("name_or_url")
def sources_check(config_dir: Path | None, name_or_url: str) -> None:
    """Dry run of a source, by name or URL: what it would bring and which topics; stores
    nothing."""
    config = load_config(config_dir)
    known = {source.name: source for source in config.sources}
    source = known.get(name_or_url)
    url, kind = (source.url, source.kind) if source else (name_or_url, None)
    if source is None and "://" not in name_or_url:
        raise ConfigError(f"{config.directory / 'sources.yaml'}: no source named {name_or_url}")
    found = _report(discover(url, lambda u: fetch(u, config.settings), kind), url)
    _preview(found, config)


def _report(discovery: Discovery, url: str) -> Found:
    for attempt in discovery.tried:
        click.echo(f"  tried {attempt.url}: {attempt.result}")
    if discovery.found is None:
        tried = len(discovery.tried)
        where = f"tried {tried} URL{'s' if tried != 1 else ''}, listed above"
        if not discovery.answered:  # refused, unreachable, an error status: no page to list
            raise UserError(f"nothing found at {url}: it could not be read ({where})")
        raise UserError(
            f"no feed or sitemap found at {url} ({where}). "
            "To monitor the page itself, use --kind listing."
        )
    found = discovery.found
    click.echo(f"Found a {found.kind}: {found.url}" + (f" ({found.title})" if found.title else ""))
    return found


def _preview(found: Found, config: Config) -> None:
    from crawler.extract.headline import headline_text
    from crawler.extract.page import Byline, read_page  # trafilatura: only when previewing

    click.echo(f"Latest entries ({len(found.entries)} in all):")
    for entry in found.entries[:PREVIEW_ENTRIES]:
        when = entry.published.strftime("%Y-%m-%d") if entry.published else "undated"
        click.echo(f"  {when}  {_one_line(entry.title or '(no title)')[:80]}  {entry.link}")
    matcher = Matcher(config.topics)
    click.echo("Articles:")
    for entry in found.entries[:PREVIEW_ARTICLES]:
        try:
            page = fetch(entry.link, config.settings)
        except FetchError as exc:
            click.echo(f"  {entry.link}: {exc}")
            continue
        # As the crawl: an article page without text is kept headline-only when titled, and
        # the entry's title, author and date stand for the page's when it gives all three.
        link = entry.link if entry.title else None
        byline = Byline(entry.title, entry.author, config.settings.entry_metadata)
        extracted = (
            read_page(page.text(), page.url, entry.published, link_url=link, byline=byline)
            if page.status < 400
            else None
        )
        if extracted is None:
            click.echo(f"  {entry.link}: no article text (HTTP {page.status})")
            continue
        if not extracted.text:
            topics = matcher.match(entry.title, entry.summary or "")
            size = f"headline only, {len(headline_text(entry.title, entry.summary).split())} words"
        else:
            topics = matcher.match(extracted.title, extracted.text)
            size = f"{len(extracted.text.split())} words"
        tags = "; ".join(f"{t}: {', '.join(terms)}" for t, terms in topics.items()) or "no topic"
        title = entry.title if not extracted.text else extracted.title
        click.echo(f"  {_one_line(title or entry.link)[:80]}")
        click.echo(f"    {size}, {extracted.language or '?'}; {tags}")


def _one_line(text: str) -> str:
    return " ".join(text.split())


@sources.command("import")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def sources_import(config_dir: Path | None, file: Path) -> None:
    """Add the feeds of an OPML file (a feed reader's export) to sources.yaml; feeds already
    there are skipped. Folders become tags."""
    config = load_config(config_dir)
    try:
        feeds, unusable = read_opml(file.read_bytes())
    except OSError as exc:
        raise file_error(file, exc, "read") from None
    except OpmlError as exc:
        raise UserError(f"{file}: {exc}") from None
    known = _configured(config)
    taken = {source.name for source in config.sources}
    added: list[dict[str, Any]] = []
    for line in unusable:
        click.echo(f"  skipped {line}")
    skipped = len(unusable)
    for feed in feeds:
        label = feed.title or feed.xml_url
        try:
            key = canonicalize(feed.xml_url)
        except ValueError:
            click.echo(f"  skipped {label!r}: xmlUrl is not an http(s) URL: {feed.xml_url!r}")
            skipped += 1
            continue
        if key in known:
            click.echo(f"  skipped {label!r}: already source {known[key]!r}")
            skipped += 1
            continue
        name = source_name(feed.html_url or feed.xml_url, taken, title=feed.title)
        known[key] = name
        taken.add(name)
        entry: dict[str, Any] = {"name": name, "kind": "feed", "url": feed.xml_url}
        if feed.category:
            entry["tags"] = [part.strip() for part in feed.category.split("/") if part.strip()]
        added.append(entry)

    def change(entries: list[Any]) -> None:
        from ruamel.yaml.comments import CommentedMap

        for entry in added:
            entries.append(CommentedMap(entry))
        if added:
            entries.yaml_set_comment_before_after_key(
                len(entries) - len(added),
                before=f"Imported from {file.name} on {date.today().isoformat()}",
                indent=2,
            )

    if added:
        edit_sources(config.directory, change)
    click.echo(f"Imported {len(added)} feeds from {file}; skipped {skipped}.")


@sources.command("export")
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["opml"]),
    default="opml",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of standard output.",
)
def sources_export(config_dir: Path | None, fmt: str, output: Path | None) -> None:
    """The feed sources as OPML, for a feed reader."""
    config = load_config(config_dir)
    feeds = [
        OpmlFeed(
            title=source.name,
            xml_url=source.url,
            html_url=None,
            category="/".join(source.tags) or None,
        )
        for source in config.sources
        if source.kind == "feed"
    ]
    body = write_opml(feeds, title="newsmon sources")
    if output is None:
        sys.stdout.buffer.write(body)
    else:
        try:
            output.write_bytes(body)
        except OSError as exc:
            raise file_error(output, exc) from None
        click.echo(f"Wrote {len(feeds)} feeds to {output}", err=True)


def _chosen(config: Config, names: tuple[str, ...], every: bool, enabled_only: bool) -> list[str]:
    """NAME... or --all (every source, or every enabled one), never both nor neither."""
    if bool(names) == every:
        raise click.UsageError("give source names or --all")
    if every:
        chosen = config.enabled_sources() if enabled_only else config.sources
        return [source.name for source in chosen]
    return [source.name for source in config.enabled_sources(list(names))]  # unknown: exit 2


@sources.command("reset")
@config_option
@click.argument("names", nargs=-1, metavar="NAME...")
@click.option("--all", "every", is_flag=True, help="Every configured source.")
def sources_reset(config_dir: Path | None, names: tuple[str, ...], every: bool) -> None:
    """Clear the failures and back-off of sources: consecutive failures, next run, and the
    attempts of their owed links. They are polled at once: within seconds by a running
    `newsmon run`, or when it starts."""
    config = load_config(config_dir)
    chosen = _chosen(config, names, every, enabled_only=False)
    owed = source_requests.reset(write_store(config.settings.database), chosen)
    click.echo(
        f"Reset {len(chosen)} source(s): failures and back-off cleared, {owed} owed "
        "link(s) due again. `newsmon run` polls them now (or when it starts)."
    )


@sources.command("poll")
@config_option
@click.argument("names", nargs=-1, metavar="NAME...")
@click.option("--all", "every", is_flag=True, help="Every enabled source.")
def sources_poll(config_dir: Path | None, names: tuple[str, ...], every: bool) -> None:
    """Ask a running `newsmon run` to poll sources now. Without one, the request waits for
    it; `newsmon crawl --source NAME` polls a source at once instead.

    `newsmon run` checks for requests every second; this command waits 3 s and says whether it
    took the request. The dashboard's "Poll now" does the same."""
    config = load_config(config_dir)
    chosen = _chosen(config, names, every, enabled_only=True)
    known = {source.name: source for source in config.sources}
    disabled = [name for name in chosen if not known[name].enabled]
    if disabled:
        raise click.UsageError(
            f"{disabled[0]} is disabled: `newsmon run` does not poll it; "
            f"`newsmon crawl --source {disabled[0]}` does"
        )
    engine = write_store(config.settings.database)
    source_requests.request_poll(engine, {name: known[name].url for name in chosen})
    deadline = time.monotonic() + POLL_WAIT
    waiting = set(chosen)
    while waiting and time.monotonic() < deadline:
        time.sleep(0.2)
        waiting = source_requests.requested(engine, list(waiting))
    taken = [name for name in chosen if name not in waiting]
    if taken:
        click.echo(f"newsmon run is polling {_names(taken)} now.")
    if waiting:
        left = [name for name in chosen if name in waiting]
        click.echo(
            f"Poll requested for {_names(left)}: no running `newsmon run` took it yet "
            "(not running, or a pass is under way); it polls them as soon as it can. "
            f"To poll now without it: newsmon crawl --source {left[0]}"
        )


def _names(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
