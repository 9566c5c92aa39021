"""Downloader middlewares of the crawler.

`PrivateNetworkMiddleware` refuses requests whose host is, or resolves to, a loopback, private,
link-local or otherwise non-public address, unless `allow_private_networks` is set: a feed
written by a third party must not steer the crawler into internal services. It runs for every
request, redirects included, and resolves through the reactor's caching resolver, so the
connection uses the address that was checked.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future

from crawler.urls import ip_literal, is_public_address

logger = logging.getLogger(__name__)


class PrivateAddressRefused(IgnoreRequest):
    """The request's host is not a public address."""


class PrivateNetworkMiddleware:
    def __init__(self, stats) -> None:  # type: ignore[no-untyped-def]
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        if crawler.settings.getbool("NEWSMON_ALLOW_PRIVATE_NETWORKS"):
            raise NotConfigured  # allow_private_networks is on
        return cls(crawler.stats)

    async def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        address = ip_literal(host)
        if address is None:
            from twisted.internet import reactor

            try:
                address = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - the download itself reports DNS failures
                return None
        if not is_public_address(address):
            self.stats.inc_value("newsmon/refused/private_address")
            logger.warning(
                "Refused %s: %s resolves to %s, a non-public address "
                "(set allow_private_networks: true to allow it)",
                request.url, host, address,
            )  # fmt: skip
            raise PrivateAddressRefused(f"{host} resolves to non-public address {address}")
        return None
