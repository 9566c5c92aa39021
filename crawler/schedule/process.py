"""What the long-lived processes of the schedule stage share (`newsmon run`, `newsmon
schedule`, `newsmon worker`): one asyncio reactor for the life of the process (Scrapy's
crawls and APScheduler or the broker client on its loop), and how they stop on a signal.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Sized
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.extensions import SharedResources

__all__ = ["StopsOnSignal", "run_on_reactor"]

logger = logging.getLogger(__name__)


def run_on_reactor(
    main: Callable[[asyncio.AbstractEventLoop], Awaitable[None]], shared: SharedResources
) -> None:
    """Run `main(loop)` on the asyncio reactor, which stops when it returns; what it raised
    is raised here, once the reactor has stopped and the store's engines of the process's
    `shared` resources are closed (its extraction pool closes as the reactor shuts down)."""
    try:
        _run(main)
    finally:
        shared.engines.close()


def _run(main: Callable[[asyncio.AbstractEventLoop], Awaitable[None]]) -> None:
    from scrapy.utils.reactor import install_reactor

    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from twisted.internet import reactor

    loop = asyncio.get_event_loop()
    failure: list[BaseException] = []

    async def until_done() -> None:
        try:
            await main(loop)
        except BaseException as exc:  # noqa: BLE001 - raised again outside the reactor
            failure.append(exc)
        reactor.stop()

    reactor.callWhenRunning(lambda: asyncio.ensure_future(until_done()))
    reactor.run(installSignalHandlers=False)
    if failure:
        raise failure[0]


class StopsOnSignal:
    """SIGTERM or SIGINT: `stop()` (passes end cleanly); a second one exits at once. Every
    article is one transaction, so the store stays whole, and a worker's unacknowledged
    passes go back to the broker's queue."""

    stopping: bool
    running: Sized  # the passes under way

    def on_stop_signal(self, signum: int) -> None:
        if self.stopping:
            logger.warning("Second %s: exiting now", signal.Signals(signum).name)
            logging.shutdown()
            os._exit(128 + signum)
        self.stopping = True
        logger.info(
            "%s: stopping (%d passes running; again to exit at once)",
            signal.Signals(signum).name,
            len(self.running),
        )
        asyncio.ensure_future(self.stop())

    def listen(self, loop: asyncio.AbstractEventLoop) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.on_stop_signal, signum)

    async def stop(self) -> None:
        raise NotImplementedError
