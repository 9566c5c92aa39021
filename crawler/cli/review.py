"""The review commands: `newsmon serve` (the web app) and `newsmon review` (a decision from
the terminal), registered on the `newsmon` group by crawler/cli/main.py, which turns config and
storage errors into messages and exit codes.
"""

from __future__ import annotations

import secrets
import socket
from datetime import UTC, datetime
from pathlib import Path

import click

from crawler.cli.base import read_store, write_store
from crawler.config.files import load_config
from crawler.store.reviews import ACTIONS, UnknownArticle, review_marks, set_review

__all__ = ["open_url", "review", "review_marks", "serve"]


class UsageProblem(click.ClickException):
    """A user error of `serve`: one line, exit code 2 (as config errors)."""

    exit_code = 2


def _config_option(command):
    return click.option(
        "--config",
        "config_dir",
        metavar="DIR",
        type=click.Path(path_type=Path),
        help="Config directory (default: $NEWSMON_CONFIG, else ./config).",
    )(command)


@click.command()
@_config_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; off loopback a token guards it.",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option(
    "--token",
    envvar="NEWSMON_TOKEN",
    metavar="T",
    help="Secret of 16 characters or more that every request must carry (default: "
    "$NEWSMON_TOKEN; off loopback, one is made up and printed).",
)
def serve(config_dir: Path | None, host: str, port: int, token: str | None) -> None:
    """Review hits in a web browser: hits, articles, topic quality, dashboard, Atom feeds.

    Listens on 127.0.0.1:8000 by default. On another address every request must carry a
    token (?token=T once, or a Bearer header): --token or $NEWSMON_TOKEN, else a new one is
    drawn at start and printed in the URL to open. Each request is logged on stderr: method,
    path, status and time in ms.
    """
    from waitress import create_server  # Flask and waitress load only to serve

    from crawler.review.web.access_log import RequestLog
    from crawler.review.web.app import create_app, is_loopback, token_problem

    config = load_config(config_dir)
    # It reads articles and writes reviews: the store must exist at the newest revision, as
    # for the commands that only read (`write_store` would create or migrate it).
    read_store(config.settings.database)
    if token is not None and (problem := token_problem(token)):
        raise UsageProblem(f"--token: {problem}")
    drawn = token is None and not is_loopback(host)
    if drawn:  # reachable from other machines: never without a token (as Jupyter does)
        token = secrets.token_urlsafe(32)
    engine = write_store(config.settings.database)
    app = create_app(engine, config, token=token, host=host)
    app.wsgi_app = RequestLog(app.wsgi_app, write=_log_request)
    server = create_server(app, sockets=[_listen(host, port)], threads=6, ident="newsmon")
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"newsmon: serving http://{shown}:{port}/ (Ctrl-C to stop)", err=True)
    if drawn and token:
        click.echo(
            f"newsmon: open {open_url(host, port, token)} (a new token at each start; "
            "--token or $NEWSMON_TOKEN keeps one)",
            err=True,
        )
    elif token:
        click.echo("newsmon: open it once with ?token=YOUR_TOKEN; the browser keeps it", err=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _log_request(line: str) -> None:
    """One line per request on stderr, with the time of day (UTC), as Datasette logs them."""
    click.echo(f"{datetime.now(UTC):%H:%M:%S} {line}", err=True)


def open_url(host: str, port: int, token: str) -> str:
    """The URL that opens the app with its token; a wildcard address is named by the
    machine's host name, which other machines can reach."""
    if host in ("0.0.0.0", "::", "[::]"):
        name = socket.gethostname()
    else:
        name = f"[{host.strip('[]')}]" if ":" in host else host
    return f"http://{name}:{port}/?token={token}"


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a taken port is a clean error (waitress
    would leave its own resources open)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
    except OSError as exc:  # the port is taken, the address is not this machine's...
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    return sock


@click.command()
@_config_option
@click.argument("article_id", metavar="ID", type=int)
@click.argument("action", type=click.Choice(ACTIONS))
@click.option("--note", metavar="TEXT", help="Attach a note (an empty one removes it).")
def review(config_dir: Path | None, article_id: int, action: str, note: str | None) -> None:
    """Record a decision on article ID: relevant, irrelevant, star (or unstar, clear, note).

    Starring is independent of the verdict; `clear` takes the verdict back; `note` only
    changes the note. Decisions are kept when articles are re-tagged.
    """
    if action == "note" and note is None:
        raise UsageProblem('`note` needs the note: --note "TEXT" (--note "" removes it)')
    config = load_config(config_dir)
    engine = write_store(config.settings.database)
    try:
        decision = set_review(engine, article_id, action, note)
    except UnknownArticle as exc:
        raise click.BadParameter(str(exc), param_hint="ID") from None
    state = decision.mark or "not reviewed"
    click.echo(
        f"Article {article_id}: {state}" + (f"; note: {decision.note}" if decision.note else "")
    )
