"""Downloader middlewares of the crawler.

`HostConcurrencyMiddleware` holds each request until its host has fewer than
`CONCURRENT_REQUESTS_PER_DOMAIN` requests in flight. Scrapy's downloader slot should do this,
but under the asyncio reactor it starts every queued request of a slot at once (the request
is marked as transferring only when its task first runs), so a host got all of them.

`PrivateNetworkMiddleware` refuses requests whose host is, or resolves to, a loopback, private,
link-local or otherwise non-public address, unless `allow_private_networks` is set: a feed
written by a third party must not steer the crawler into internal services. It runs for every
request, redirects included, before any other middleware (robots.txt, the proxy one), and
resolves through the reactor's caching resolver, so the connection uses the address that was
checked. It fails closed: a host that does not resolve here is refused too, since a proxy
(`http_proxy`) would resolve it itself, out of sight (a name that is internal to the proxy's
network, or that its DNS maps to loopback). That refusal is a `DNSLookupError`, as the
download's own would be: a name that resolves again later is retried.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import DeferredSemaphore
from twisted.internet.error import DNSLookupError

from crawler.text.urls import ip_literal, is_public_address

logger = logging.getLogger(__name__)


class PrivateAddressRefused(IgnoreRequest):
    """The request's host is not a public address."""


class UnresolvedHostRefused(DNSLookupError):
    """The request's host did not resolve, so it could not be checked: not sent."""

    def __str__(self) -> str:  # Twisted's would prefix "DNS lookup failed: "
        return str(self.args[0]) if self.args else "refused: DNS lookup failed"


class PrivateNetworkMiddleware:
    def __init__(self, stats) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        if crawler.settings.getbool("NEWSMON_ALLOW_PRIVATE_NETWORKS"):
            raise NotConfigured  # allow_private_networks is on
        return cls(crawler.stats)

    async def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        address = ip_literal(host)
        if address is None:
            from twisted.internet import reactor

            try:
                address = await maybe_deferred_to_future(reactor.resolve(host))
            except Exception as exc:  # noqa: BLE001 - whatever failed, the host is unchecked
                self.stats.inc_value("newsmon/refused/unresolved")
                # DEBUG: the spider reports the failed request once, with its source.
                logger.debug(
                    "Refused %s: DNS lookup failed for %s, so its address cannot be checked (%s)",
                    request.url,
                    host or "(no host)",
                    exc,
                )
                raise UnresolvedHostRefused(
                    f"refused: DNS lookup failed for {host or '(no host)'}"
                ) from None
        if not is_public_address(address):
            self.stats.inc_value("newsmon/refused/private_address")
            logger.warning(
                "Refused %s: %s resolves to %s, a non-public address "
                "(set allow_private_networks: true to allow it)",
                request.url,
                host,
                address,
            )
            raise PrivateAddressRefused(f"{host} resolves to non-public address {address}")
        return None


class HostConcurrencyMiddleware:
    HELD = "newsmon_host_slot"

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self.semaphores: dict[str, DeferredSemaphore] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))

    def _key(self, request: Request) -> str:
        return request.meta.get("download_slot") or urlparse_cached(request).hostname or ""

    async def process_request(self, request: Request) -> None:
        key = self._key(request)
        semaphore = self.semaphores.setdefault(key, DeferredSemaphore(self.per_host))
        await maybe_deferred_to_future(semaphore.acquire())
        request.meta[self.HELD] = key
        return None

    def _release(self, request: Request) -> None:
        key = request.meta.pop(self.HELD, None)
        if key is not None:
            semaphore = self.semaphores[key]
            semaphore.release()
            if semaphore.tokens == semaphore.limit and not semaphore.waiting:
                del self.semaphores[key]  # no unbounded growth over many hosts

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._release(request)
        return None
