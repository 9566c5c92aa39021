"""The request log of `newsmon serve`: one line per request, as Datasette prints them.

Waitress, the server, logs nothing per request, so `crawler.cli.review.serve` wraps the app in
this WSGI middleware. A line reads `GET /hits?topic=nato 200 12 ms`: method, path and query,
status, and the time until the last byte was handed to the server (a download streams: its
time counts the whole body). The token of a guarded server (`?token=T`) is a secret: the log
shows `token=…` instead. Writing is a callable, so the CLI chooses where lines go.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import unquote_plus

__all__ = ["RequestLog", "request_line"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
SECRET_PARAMETERS = ("token",)


def request_line(method: str, path: str, query: str, status: str, seconds: float) -> str:
    """One log line; the query string without its secrets, control characters escaped (a
    request line is written by whoever sends it, and lands on an operator's terminal)."""
    if query:
        pieces = [piece.partition("=") for piece in query.split("&")]
        path += "?" + "&".join(
            f"{name}=…" if unquote_plus(name) in SECRET_PARAMETERS else name + equals + value
            for name, equals, value in pieces
        )
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in path)
    return f"{method} {shown} {status.split(' ', 1)[0]} {seconds * 1000:.0f} ms"


class RequestLog:
    """WSGI middleware: calls `write` with one `request_line` when a response is done."""

    def __init__(self, app: WSGIApp, write: Callable[[str], None]) -> None:
        self.app = app
        self.write = write

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        started = time.perf_counter()
        status = ["-"]

        def recording(code: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = code
            return start_response(code, headers, exc_info)

        body = self.app(environ, recording)
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            # PATH_INFO is the path decoded as latin-1 by WSGI: back to its bytes, read as UTF-8.
            path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
            self.write(
                request_line(
                    environ.get("REQUEST_METHOD", "-"),
                    environ.get("SCRIPT_NAME", "") + path or "/",
                    environ.get("QUERY_STRING", ""),
                    status[0],
                    time.perf_counter() - started,
                )
            )
