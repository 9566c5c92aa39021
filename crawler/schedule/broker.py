"""The distributed mode's work queue: RabbitMQ, through aio-pika, on the crawl's asyncio loop.

`newsmon schedule` publishes a `PassRequest` to `<prefix>.passes` when a source is due;
`newsmon worker`s consume that queue with manual acknowledgements and at most
`worker_concurrency` unacknowledged passes each, run the pass, publish a `PassResult` to
`<prefix>.results` and only then acknowledge the request. The scheduler consumes the results
and plans each source's next pass from them, as `newsmon run` does after its own passes.

What RabbitMQ gives, so it is not ours to write (docs/distributed.md): a request goes to one
consumer at a time; one that dies unacknowledged (its connection drops: `kill -9`, a lost
host after the AMQP heartbeat) is delivered again to another; durable queues of persistent
messages, published with confirms, survive a restart of the broker. aio-pika's robust
connection reconnects after one and consumes again. Delivery is at least once: a pass may run
twice (a worker that dies between publishing its result and acknowledging), which costs a
conditional GET, never a second copy of an article (the store's keys are unique), and the
scheduler ignores a result whose request it no longer waits for.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustQueue,
)

from crawler.schedule.polling import Outcome
from crawler.text.urls import without_password

__all__ = [
    "DELIVERY_LIMIT",
    "Broker",
    "BrokerError",
    "PassRequest",
    "PassResult",
]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0  # seconds: a broker that does not answer is one line, not a hang
DELIVERY_LIMIT = 5  # deliveries again of a pass before it is given up as failed


class BrokerError(RuntimeError):
    """The broker cannot be reached or refused us; the message names it (without password)."""


@dataclass(frozen=True)
class PassRequest:
    """One pass of one source, handed out by the scheduler; `version` names the config it was
    planned with (crawler.store.config_versions)."""

    source: str
    version: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    sent_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def body(self) -> bytes:
        return json.dumps(asdict(self)).encode("utf-8")

    @classmethod
    def from_body(cls, body: bytes) -> PassRequest:
        data = json.loads(body)
        return cls(str(data["source"]), str(data["version"]), str(data["id"]), str(data["sent_at"]))


@dataclass(frozen=True)
class PassResult:
    """What a worker reports of a pass: `done` with the source's outcome and counts;
    `unknown` when the pass's config version, or the source in it, is not there; `failed`
    when the broker gave the pass up (`from_message`)."""

    id: str
    source: str
    worker: str
    status: str  # done, unknown or failed
    outcome: dict[str, Any] | None = None  # Outcome's fields
    new: int = 0  # articles stored
    hits: dict[str, int] = field(default_factory=dict)  # topic -> new articles with it
    seconds: float = 0.0

    def body(self) -> bytes:
        return json.dumps(asdict(self)).encode("utf-8")

    @classmethod
    def from_body(cls, body: bytes) -> PassResult:
        return cls(**json.loads(body))

    @classmethod
    def from_message(cls, body: bytes, headers: dict[str, Any]) -> PassResult:
        """A worker's result, or a pass the broker gave up (dead-lettered into the results
        after `DELIVERY_LIMIT` deliveries more): a failed pass of its source."""
        if not headers.get("x-death"):
            return cls.from_body(body)
        request = PassRequest.from_body(body)
        summary = f"its pass stopped the workers {DELIVERY_LIMIT + 1} times; given up"
        return cls(request.id, request.source, "-", "failed", asdict(Outcome("error", summary)))

    def source_outcome(self) -> Outcome:
        return Outcome(**self.outcome) if self.outcome else Outcome("error", "no result")

    def stats(self) -> dict[str, int]:
        """The counts `Service.after_pass` reads, under their crawl-stats names."""
        return {"newsmon/store/new": self.new} | {
            f"newsmon/hits/{topic}": count for topic, count in self.hits.items()
        }


class Broker:
    """One robust connection and channel; the two durable queues of a prefix."""

    def __init__(self, url: str, prefix: str, name: str) -> None:
        self.url = url
        self.passes = f"{prefix}.passes"
        self.results = f"{prefix}.results"
        self.name = name  # shown in RabbitMQ's management as the connection's name
        self.connection: AbstractRobustConnection | None = None
        self.channel: AbstractRobustChannel | None = None
        self.queues: dict[str, AbstractRobustQueue] = {}

    def arguments(self) -> dict[str, dict[str, Any]]:
        """Both queues are quorum queues (replicated on a cluster, persistent); a pass
        delivered `DELIVERY_LIMIT` times more without an acknowledgement (it stopped every
        worker that took it) is dead-lettered into the results, where the scheduler reads it
        as a failed pass, so it never cycles through the workers for ever."""
        return {
            self.passes: {
                "x-queue-type": "quorum",
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.results,
            },
            self.results: {"x-queue-type": "quorum"},
        }

    async def connect(self, prefetch: int) -> None:
        """Connect, or raise BrokerError; later losses are mended by aio-pika's reconnects."""
        try:
            self.connection = await aio_pika.connect_robust(
                self.url,
                timeout=CONNECT_TIMEOUT,
                client_properties={"connection_name": self.name},
            )
            self.channel = await self.connection.channel(publisher_confirms=True)
            await self.channel.set_qos(prefetch_count=prefetch)
            # aio-pika's robust queues consume again after a reconnect: consumers are started
            # on these objects, not on queues looked up later.
            for queue, arguments in self.arguments().items():
                self.queues[queue] = await self.channel.declare_queue(
                    queue, durable=True, arguments=arguments
                )
        except Exception as exc:  # noqa: BLE001 - any failure here is "the broker"
            await self.close()
            raise BrokerError(
                f"broker {without_password(self.url)}: {exc or type(exc).__name__}"
            ) from None
        self.connection.reconnect_callbacks.add(self._reconnected)
        self.connection.close_callbacks.add(self._lost)

    def _reconnected(self, *args: Any) -> None:
        logger.info("Broker %s: connected again", without_password(self.url))

    def _lost(self, connection: Any, exc: BaseException | None = None) -> None:
        if exc is not None:
            logger.warning(
                "Broker %s: connection lost (%s); reconnecting", without_password(self.url), exc
            )

    async def publish(self, queue: str, body: bytes, message_id: str) -> None:
        """Publish a persistent message and wait for the broker's confirm."""
        assert self.channel is not None
        message = aio_pika.Message(
            body,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type="application/json",
            message_id=message_id,
        )
        await self.channel.default_exchange.publish(
            message, routing_key=queue, timeout=CONNECT_TIMEOUT
        )

    async def consume(
        self, queue: str, callback: Callable[[AbstractIncomingMessage], Awaitable[None]]
    ) -> str:
        return await self.queues[queue].consume(callback)

    async def cancel(self, queue: str, tag: str) -> None:
        if self.channel is None or self.channel.is_closed:
            return
        await self.queues[queue].cancel(tag)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
        self.connection = self.channel = None
        self.queues = {}
