"""One-off page fetches for the command line (`topics test --url`, `sources add/check`).

Crawls go through Scrapy; these interactive look-ups fetch a handful of URLs one at a time, so
they use the standard library, with the crawler's rules: the configured User-Agent, timeout and
size cap, and no loopback, private or link-local address unless `allow_private_networks`,
checked again at every redirect.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit

from crawler.config.settings import Settings
from crawler.errors import FetchError
from crawler.text.urls import is_public_address

__all__ = ["FetchError", "Fetched", "fetch"]

MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type()

    def text(self) -> str:
        charset = self.headers.get_content_charset() or "utf-8"
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:  # an unknown charset name
            return self.body.decode("utf-8", errors="replace")


def check_address(url: str, settings: Settings) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url}")
    if settings.allow_private_networks:
        return
    try:
        addresses = socket.getaddrinfo(parts.hostname, parts.port or 443)
    except OSError as exc:
        raise FetchError(f"{url}: cannot resolve {parts.hostname}: {exc}") from None
    for *_, address in addresses:
        if not is_public_address(address[0]):
            raise FetchError(
                f"{url}: {parts.hostname} resolves to non-public address "
                f"{address[0]} (allow_private_networks is off)"
            )


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_address(newurl, self.settings)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, settings: Settings) -> Fetched:
    """GET `url` (redirects followed and checked). HTTP errors are returned, not raised."""
    check_address(url, settings)
    opener = urllib.request.build_opener(_CheckedRedirects(settings))
    opener.addheaders = [("User-Agent", settings.user_agent), ("Accept", "*/*")]
    try:
        with opener.open(url, timeout=settings.download_timeout) as response:
            body = response.read(settings.max_download_size + 1)
            fetched = Fetched(response.geturl(), response.status, response.headers, body)
    except urllib.error.HTTPError as exc:
        return Fetched(exc.geturl() or url, exc.code, exc.headers, exc.read(65536))
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"{url}: {reason}") from None
    if len(fetched.body) > settings.max_download_size:
        raise FetchError(f"{url}: larger than max_download_size ({settings.max_download_size})")
    return fetched
