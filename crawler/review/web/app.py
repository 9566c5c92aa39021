"""The `newsmon serve` application: a Flask app over the store, and its security.

Scraped text and URLs are hostile, so: Jinja autoescaping everywhere, article links only
when http(s) (`highlight.safe_href`), state changes only by POST with a CSRF token
(Flask-WTF's CSRFProtect: the token is signed with a key drawn at start-up and kept in the
session cookie), and a Content-Security-Policy that allows no inline script and nothing from
another origin. Bound to loopback without a token, the app also checks the Host header, so a
web page cannot reach it through DNS rebinding. With a token (16 characters at least), every
request must carry it: `Authorization: Bearer T`, or `?token=T` once (a cookie keeps it for
the browser). Input the app cannot use is a 400 page that says why (crawler.review.web.inputs).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from typing import Any

from flask import Flask, Response, abort, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import Engine
from werkzeug.exceptions import BadRequest

from crawler.config.files import Config
from crawler.match.terms import Matcher, TopicRule

__all__ = ["Store", "create_app", "is_loopback", "token_problem"]

TOKEN_COOKIE = "newsmon_token"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MIN_TOKEN = 16  # characters; `secrets.token_urlsafe()` makes 43


class Store:
    """What the views need: the engine, the configuration, and the filter menus (cached a
    minute: listing every distinct source, language and topic of a large store costs scans)."""

    def __init__(self, engine: Engine, config: Config | None) -> None:
        self.engine = engine
        self.config = config
        self._facets: tuple[float, tuple[list[str], list[str], list[str]]] | None = None
        self._matcher: Matcher | None = None

    @property
    def matcher(self) -> Matcher:
        """The topics compiled once, for highlighting what tagged an article."""
        if self._matcher is None:
            self._matcher = Matcher(self.config.topics if self.config else ())
        return self._matcher

    @property
    def topics(self) -> list[str]:
        return [rule.name for rule in self.config.topics] if self.config else []

    def description(self, topic: str) -> str:
        rule = self.rule(topic)
        return rule.description if rule else ""

    def rule(self, topic: str) -> TopicRule | None:
        """The configured rule of `topic` (None for a topic found only in the store)."""
        rules = self.config.topics if self.config else ()
        return next((rule for rule in rules if rule.name == topic), None)

    def facets(self) -> tuple[list[str], list[str], list[str]]:
        from crawler.store.search import facets

        if self._facets is None or time.monotonic() - self._facets[0] > 60:
            self._facets = (time.monotonic(), facets(self.engine))
        return self._facets[1]


def token_problem(token: str) -> str | None:
    """Why `token` is too weak to guard the app, or None."""
    if len(token) < MIN_TOKEN:
        return f"a token needs at least {MIN_TOKEN} characters (this one has {len(token)})"
    if any(ch.isspace() or not ch.isprintable() for ch in token):
        return "a token cannot hold spaces or control characters"
    return None


def host_name(header: str) -> str | None:
    """The host of a Host header, without its port, lower-cased, an IP address in its short
    form ("[::1]:8000" -> "::1"); None when the header is malformed."""
    header = header.strip().lower()
    if header.startswith("["):  # an IPv6 literal, with or without a port
        name, bracket, rest = header[1:].partition("]")
        if not bracket:
            return None
    elif header.count(":") > 1:  # a bare IPv6 address (as `--host ::1` names it)
        name, rest = header, ""
    else:
        name, colon, port = header.partition(":")
        rest = colon + port
    if rest and not (rest[:1] == ":" and rest[1:].isdigit() and 0 < int(rest[1:]) < 65536):
        return None
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name or None


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (127.0.0.0/8, ::1) or `localhost`."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_app(
    engine: Engine, config: Config | None = None, token: str | None = None, host: str = "127.0.0.1"
) -> Flask:
    """The app over `engine`, for a server bound to `host`. `config` brings the topics
    (menus, feeds, quality) and the sources (health table). With `token`, every request must
    carry it; without, `host` must be loopback, and requests must be addressed to it."""
    from crawler.review.web.views import views

    if not token and not is_loopback(host):
        raise ValueError(f"{host} is not a loopback address: a token is required")
    if token and (problem := token_problem(token)):
        raise ValueError(problem)

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),  # per run: a restart invalidates old forms
        WTF_CSRF_TIME_LIMIT=None,  # a triage page may stay open all morning
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="newsmon_session",
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.jinja_env.autoescape = True  # every template, whatever its name
    app.extensions["newsmon"] = Store(engine, config)
    CSRFProtect(app)
    app.register_blueprint(views)

    if token:
        app.before_request(lambda: _check_token(token))
    else:  # Werkzeug's TRUSTED_HOSTS refuses "[::1]:8000": names are compared here
        allowed = {host_name(name) for name in (*LOOPBACK_HOSTS, host)}
        app.before_request(lambda: _check_host(allowed))

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
        if token and _same(request.args.get("token", ""), token):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> tuple[str, int]:
        return render_template(
            "error.html",
            title="Form expired",
            message="This form is stale or came from elsewhere. Reload the page and try again.",
        ), 400

    @app.errorhandler(BadRequest)
    def bad_request(error: BadRequest) -> tuple[str, int]:
        return render_template("error.html", title="Bad request", message=error.description), 400

    @app.errorhandler(404)
    def not_found(error: Any) -> tuple[str, int]:
        return render_template("error.html", title="Not found", message="Nothing here."), 404

    return app


def _check_host(allowed: set[str | None]) -> None:
    """Refuse a request addressed to another name (DNS rebinding: a web page whose name
    resolves to 127.0.0.1 would otherwise reach the app with the browser's cookies)."""
    if host_name(request.host) not in allowed:
        abort(400, description="This server answers only to its own address (Host header).")


def _check_token(token: str) -> Response | None:
    header = request.headers.get("Authorization", "")
    offered = [
        header[7:] if header.startswith("Bearer ") else "",
        request.args.get("token", ""),
        request.cookies.get(TOKEN_COOKIE, ""),
    ]
    if any(_same(value, token) for value in offered):
        return None
    body = "newsmon: this server needs its token: open it once with ?token=YOUR_TOKEN.\n"
    return Response(
        body,
        401,
        {"WWW-Authenticate": 'Bearer realm="newsmon"', "Content-Security-Policy": CSP},
        mimetype="text/plain",
    )


def _same(offered: str, token: str) -> bool:
    return bool(offered) and hmac.compare_digest(offered.encode(), token.encode())
