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

`SharedHostLimitsMiddleware` makes those per-host limits hold over every crawl process that
shares a PostgreSQL store (the workers of the distributed mode, which set
`NEWSMON_SHARED_HOST_LIMITS`): before each download it takes one of the host's
`CONCURRENT_REQUESTS_PER_DOMAIN` permits and this request's start on the host's pace
(`NEWSMON_HOST_DELAY`, which the add-on moves there from `DOWNLOAD_DELAY`) from
`crawler.store.host_limits`, and gives the permit back when the download ends. It runs inside
`HostConcurrencyMiddleware`, so a process asks the store only for requests that already have
a place among its own.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet.defer import Deferred, DeferredList, DeferredSemaphore
from twisted.internet.error import DNSLookupError
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread

from crawler.errors import StorageError
from crawler.store.database import storage_reason
from crawler.store.engines import crawl_engines, crawl_store
from crawler.store.host_limits import (
    LEASE_MARGIN,
    Permit,
    acquire,
    holder_id,
    lease_for,
    release,
    release_all,
)
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


def host_key(request: Request) -> str:
    """The host whose limits a request counts against: its download slot, as Scrapy's."""
    return request.meta.get("download_slot") or urlparse_cached(request).hostname or ""


class HostConcurrencyMiddleware:
    HELD = "newsmon_host_slot"

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self.semaphores: dict[str, DeferredSemaphore] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))

    async def process_request(self, request: Request) -> None:
        key = host_key(request)
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


T = TypeVar("T")

# While a host's permits are all held: the first pause before asking again, doubled after each
# refusal up to the longest (a release is not announced; asking is one short statement).
BUSY_PAUSE = (0.05, 1.0)
# A store that fails: attempts before the request fails with it (pauses of 0.5, 1, 2, 4 s).
STORE_ATTEMPTS = 5


class SharedHostLimitsMiddleware:
    HELD = "newsmon_host_permit"

    def __init__(
        self,
        engine: Engine,
        stats: Any,
        per_host: int,
        delay: float,
        jitter: float,
        timeout: float,
        margin: float = LEASE_MARGIN,
    ) -> None:
        self.engine = engine
        self.stats = stats
        self.per_host = per_host
        self.delay = delay
        self.jitter = jitter
        self.timeout = timeout
        self.margin = margin
        self.holder = holder_id()
        self.random = random.Random()
        self.releasing: set[Deferred[Any]] = set()
        # Permits granted and not yet given back, and whether a grant or a release failed
        # (the store may have done what the client never heard of): the crawl's end deletes
        # what its holder may still hold only then, not one statement more every pass.
        self.held = 0
        self.unsure = False

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("NEWSMON_SHARED_HOST_LIMITS"):
            raise NotConfigured  # one process: HostConcurrencyMiddleware and Scrapy's delay
        engines = crawl_engines(settings)
        engine = engines.limits(settings["NEWSMON_DATABASE"])
        crawl_store(settings)  # a new store gets its schema, the limits' tables with it
        if settings.getfloat("DOWNLOAD_DELAY") or settings.getbool("AUTOTHROTTLE_ENABLED"):
            # The add-on moves both (share_host_delay); here they were set after it ran.
            logger.warning(
                "Shared host limits with DOWNLOAD_DELAY or AUTOTHROTTLE_ENABLED set: this "
                "process waits again after its start on the shared pace, so its requests "
                "may come closer to another process's than NEWSMON_HOST_DELAY"
            )
        middleware = cls(
            engine,
            crawler.stats,
            settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
            settings.getfloat("NEWSMON_HOST_DELAY"),
            settings.getfloat("DOWNLOAD_DELAY_JITTER"),
            settings.getfloat("DOWNLOAD_TIMEOUT"),
            settings.getfloat("NEWSMON_HOST_LEASE_MARGIN", LEASE_MARGIN),
        )
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    async def process_request(self, request: Request) -> None:
        host = host_key(request)
        # Scrapy's jitter, as its slots apply it: this request's share of the host's pace.
        delay = self.delay * (1 + self.random.uniform(-self.jitter, self.jitter))
        timeout = float(request.meta.get("download_timeout") or self.timeout)
        lease = lease_for(timeout, self.per_host, self.delay * (1 + self.jitter), self.margin)
        permit = await self._permit(request, host, lease, max(delay, 0.0))
        request.meta[self.HELD] = permit
        self.stats.inc_value("newsmon/host_limits/permits")
        if permit.wait > 0:
            try:
                await _sleep(permit.wait)
            except BaseException:
                self._release(request)  # cancelled before its start: the place is not used
                raise
        return None

    async def _permit(self, request: Request, host: str, lease: float, delay: float) -> Permit:
        pause, failures = BUSY_PAUSE[0], 0
        while True:
            try:
                permit = await _in_thread(
                    acquire, self.engine, host, self.holder, self.per_host, lease, delay
                )
            except SQLAlchemyError as exc:
                self.unsure = True
                failures += 1
                if failures >= STORE_ATTEMPTS:
                    raise StorageError(
                        f"shared host limits: no permit for {request.url}: {storage_reason(exc)}"
                    ) from exc
                logger.warning(
                    "Shared host limits: asking for a permit for %s failed (%s), trying again",
                    host,
                    storage_reason(exc),
                )
                await _sleep(0.5 * 2 ** (failures - 1))
                continue
            if permit is not None:
                self.held += 1
                return permit
            self.stats.inc_value("newsmon/host_limits/busy")
            await _sleep(pause * self.random.uniform(0.5, 1.5))  # apart from the others
            pause = min(pause * 2, BUSY_PAUSE[1])

    def _release(self, request: Request) -> None:
        permit = request.meta.pop(self.HELD, None)
        if permit is None:
            return
        # Not awaited: the response goes on at once; the crawl's end waits for these.
        releasing = deferToThread(release, self.engine, permit)
        self.releasing.add(releasing)
        releasing.addCallbacks(self._released, self._release_failed, errbackArgs=(permit,))
        releasing.addBoth(lambda _: self.releasing.discard(releasing))

    def _released(self, was_held: bool) -> None:
        self.held -= 1
        if not was_held:
            # Its lease ended before the download did: the place may have been given out.
            self.stats.inc_value("newsmon/host_limits/lease_ended")

    def _release_failed(self, failure: Any, permit: Permit) -> None:
        self.unsure = True
        logger.warning(
            "Shared host limits: releasing a permit of %s failed (%s); it ends with its lease",
            permit.host,
            failure.getErrorMessage(),
        )

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._release(request)
        return None

    async def spider_closed(self) -> None:
        await maybe_deferred_to_future(DeferredList(list(self.releasing)))
        if not self.held and not self.unsure:
            return  # every permit granted was given back
        try:
            # A permit left would block its host until its lease ends. (Ended leases and idle
            # paces of every holder are the worker's to delete, once a minute.)
            await _in_thread(release_all, self.engine, self.holder)
        except SQLAlchemyError as exc:
            logger.warning("Shared host limits: cleaning up failed (%s)", storage_reason(exc))
        # The engine is the process's (`Engines.limits`): the next pass uses its connections.


async def _in_thread(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in the reactor's thread pool: the store's round trip never blocks
    the reactor."""
    return await maybe_deferred_to_future(deferToThread(function, *args))


async def _sleep(seconds: float) -> None:
    from twisted.internet import reactor

    await maybe_deferred_to_future(deferLater(reactor, seconds))
