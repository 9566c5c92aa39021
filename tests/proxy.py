"""A forward HTTP proxy on 127.0.0.1 for tests: it takes absolute-form `GET http://host/...`
requests (no CONNECT, so plain HTTP only), resolves the host with its own table of names
before the system's, as a proxy with its own DNS would, and relays the answer. It records
every URL it was asked for.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Headers of one connection, not to be relayed (RFC 9110, section 7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class ForwardProxy:
    def __init__(self, hosts: dict[str, str]) -> None:
        self.hosts = hosts  # name -> address, looked up before the system's resolver
        self.requests: list[str] = []
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                proxy.requests.append(self.path)
                target = urlsplit(self.path)
                host = target.hostname or ""
                upstream = http.client.HTTPConnection(
                    proxy.hosts.get(host, host), target.port or 80, timeout=10
                )
                headers = {
                    name: value
                    for name, value in self.headers.items()
                    if name.lower() not in HOP_BY_HOP
                }
                path = target.path or "/"
                upstream.request(
                    "GET", path + (f"?{target.query}" if target.query else ""), headers=headers
                )
                answer = upstream.getresponse()
                body = answer.read()
                upstream.close()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(answer.status)
                    for name, value in answer.getheaders():
                        if name.lower() not in HOP_BY_HOP:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        return Handler
