"""Fixture web sites served over real HTTP on 127.0.0.1 for crawl tests.

Each `Site` is one outlet on its own port: a table of paths to responses, with ETag support,
request counts per path, the bodies of POST requests (answered as a GET of their path), and
the largest number of requests it ever had in flight at once and when each began (to test
politeness). The listen
backlog is raised: `http.server`'s default of 5 stalls concurrent clients.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: str | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


class Site:
    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.hits: dict[str, int] = {}
        self.user_agents: set[str] = set()
        self.posts: list[tuple[str, bytes]] = []  # (path, body) of each POST, in order
        self.in_flight = 0
        self.max_in_flight = 0
        self.started: list[float] = []  # time.monotonic() of each request's arrival
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str, **options: object) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.pages[path] = Page(data, **options)
        return self.url(path)

    def answer_at_once(self) -> None:
        """Every page without its delay, from now on: for the pass after a slow one that a
        test interrupted (the delay served to catch it mid-pass)."""
        for page in self.pages.values():
            page.delay = 0.0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with site._lock:
                    site.started.append(time.monotonic())
                    site.in_flight += 1
                    site.max_in_flight = max(site.max_in_flight, site.in_flight)
                    site.hits[self.path] = site.hits.get(self.path, 0) + 1
                    site.user_agents.add(self.headers.get("User-Agent", ""))
                try:
                    # The crawler may hang up early (a PDF, a size cap, a timeout): expected.
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self._respond()
                finally:
                    with site._lock:
                        site.in_flight -= 1

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                # A POST is answered like a GET of its path, its body kept for the test.
                length = int(self.headers.get("Content-Length") or 0)
                with site._lock:
                    site.posts.append((self.path, self.rfile.read(length)))
                self.do_GET()

            def _respond(self) -> None:
                page = site.pages.get(self.path)
                if page is None:
                    page = Page(b"<html><body><h1>Not found</h1></body></html>", status=404)
                time.sleep(page.delay)
                if page.etag and self.headers.get("If-None-Match") == page.etag:
                    self.send_response(304)
                    self.send_header("ETag", page.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
                if page.etag:
                    self.send_header("ETag", page.etag)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(page.body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        return Handler
