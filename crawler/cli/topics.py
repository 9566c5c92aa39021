"""`newsmon topics ...`: try the topics on a text (`test`) and measure them (`eval`).

Part of the command line (see crawler/cli/main.py). Matching goes through `Matcher.match`, as in a
crawl; the measuring is `crawler.review.topic_eval`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from crawler.cli.base import (
    UserError,
    config_option,
    echo_json,
    file_error,
    json_option,
    read_store,
)
from crawler.config.files import Config, load_config, load_topics
from crawler.match.terms import Matcher, TopicRule
from crawler.sources.fetch import FetchError, fetch

topics_file_option = click.option(
    "--topics",
    "topics_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use the topics of this topics.yaml instead of the configured ones (to try a change).",
)


@click.group()
def topics() -> None:
    """Try and measure topics."""


def _rules(config: Config, topics_file: Path | None) -> tuple[TopicRule, ...]:
    return load_topics(topics_file) if topics_file is not None else config.topics


@topics.command("test")
@config_option
@click.argument("text", required=False)
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the text from a file (an .html file is extracted first).",
)
@click.option("--url", help="Fetch this page and extract its article text.")
@click.option("--title", help="A title to match with the text, as a crawl does.")
@topics_file_option
@json_option
def topics_test(
    config_dir: Path | None,
    text: str | None,
    file: Path | None,
    url: str | None,
    title: str | None,
    topics_file: Path | None,
    as_json: bool,
) -> None:
    """Which topics and which terms match TEXT (`-`: standard input), a file or a page, and
    why each other topic does not."""
    if sum(x is not None for x in (text, file, url)) != 1:
        raise click.UsageError("give exactly one of TEXT, --file or --url")
    config = load_config(config_dir)
    rules = _rules(config, topics_file)
    if text == "-":
        text = sys.stdin.read()
    elif file is not None:
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise file_error(file, exc, "read") from None
        if file.suffix.lower() in (".html", ".htm"):
            title, text = _extract(text, file.resolve().as_uri())
    elif url is not None:
        title, text = _extract(_fetch_page(url, config), url)
    matches = Matcher(rules).match(title, text or "")
    if as_json:
        misses = {rule.name: matches.why_not(rule.name) for rule in rules}
        echo_json(
            {
                "title": title,
                "matches": dict(matches.items()),
                "misses": {name: m.reasons() for name, m in misses.items() if m is not None},
            }
        )
        return
    if title:
        click.echo(f"Title: {title}")
    if not matches:
        click.echo("No topic matches.")
    for topic, terms in matches.items():
        click.echo(f"{topic}: {', '.join(terms)}")
    for rule in rules:
        miss = matches.why_not(rule.name)
        if miss is not None:
            click.echo(f"{rule.name}: no match")
            for reason in miss.reasons():
                click.echo(f"    {reason}")


@topics.command("eval")
@config_option
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--reviews",
    is_flag=True,
    help="Measure on the store's review verdicts (relevant/irrelevant) instead of a file.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@topics_file_option
def topics_eval(
    config_dir: Path | None, file: Path | None, reviews: bool, fmt: str, topics_file: Path | None
) -> None:
    """Precision, recall and F1 of the topics on FILE, labelled articles (JSONL, gzipped or
    not: title, text, lang, label, optional topics), or on the review verdicts: overall, per
    language, per topic and per term, with every false positive and false negative, and why
    each topic missed."""
    from crawler.review.topic_eval import evaluate, read_records, render, review_records

    if (file is None) == (not reviews):
        raise click.UsageError("give either FILE or --reviews")
    config = load_config(config_dir)
    rules = _rules(config, topics_file)
    if reviews:
        records = review_records(read_store(config.settings.database))
        source = "review verdicts"
    else:
        records = read_records(file)
        source = str(file)
    result = evaluate(records, Matcher(rules), [rule.name for rule in rules], source)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(render(result))


def _extract(html: str, url: str) -> tuple[str | None, str]:
    from crawler.extract.page import extract_article

    extracted = extract_article(html, url)
    if extracted is None:
        raise UserError(f"no article text found in {url}")
    return extracted.title, extracted.text


def _fetch_page(url: str, config: Config) -> str:
    try:
        page = fetch(url, config.settings)
    except FetchError as exc:
        raise UserError(str(exc)) from None
    if page.status >= 400:
        raise UserError(f"{url}: HTTP {page.status}")
    return page.text()
