"""What the distributed mode's tests share: a queue prefix of their own on the real RabbitMQ,
config directories with a PostgreSQL store and the broker, and `newsmon schedule` and
`newsmon worker` processes started and stopped."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import aio_pika
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import REPO
from tests.processes import reap

BROKER = os.environ.get("NEWSMON_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672/")


def delete_queues(prefix: str) -> None:
    async def delete() -> None:
        connection = await aio_pika.connect(BROKER, timeout=10)
        async with connection:
            channel = await connection.channel()
            for name in (f"{prefix}.passes", f"{prefix}.results"):
                await channel.queue_delete(name)

    asyncio.run(delete())


def queue_prefix() -> Iterator[str]:
    """A prefix of its own for a test; its queues deleted afterwards. Fails (never skips)
    when RabbitMQ is not there."""
    prefix = f"newsmon_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_ping())
    yield prefix
    delete_queues(prefix)


async def _ping() -> None:
    connection = await aio_pika.connect(BROKER, timeout=10)
    await connection.close()


class Processes:
    """`newsmon schedule` and `newsmon worker` processes of one test, each with its log."""

    def __init__(self, config: Path, logs: Path) -> None:
        self.config = config
        self.logs = logs
        self.started: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
        env["PYTHONPATH"] = str(REPO)
        command = [sys.executable, "-m", "crawler", *args, "--config", str(self.config)]
        command += ["--log-file", str(self.log(name))]
        with (self.logs / f"{name}.stderr").open("wb") as errors:
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        self.started[name] = process
        return process

    def scheduler(self, name: str = "scheduler") -> subprocess.Popen[bytes]:
        return self.start(name, "schedule")

    def worker(self, name: str, *options: str) -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--name", name, *options)

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def text(self, name: str) -> str:
        path = self.log(name)
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def errors(self, name: str) -> str:
        """What the process wrote to standard error (its log too, and any error line)."""
        return (self.logs / f"{name}.stderr").read_text(encoding="utf-8", errors="replace")

    def stop(self, name: str, timeout: float = 30) -> float:
        """SIGTERM, and the seconds it took to exit (it must exit within `timeout`)."""
        process = self.started[name]
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout)
        return time.monotonic() - began

    def kill(self, name: str) -> None:
        self.started[name].kill()
        self.started[name].wait(10)

    def close(self) -> None:
        for process in self.started.values():
            reap(process, 10)


def wait_for(condition: Callable[[], object], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def stored_urls(database: str) -> list[str]:
    engine = create_engine(database, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            try:
                return [row[0] for row in connection.execute(text("SELECT url FROM articles"))]
            except Exception:  # noqa: BLE001 - no tables yet: nothing stored
                return []
    finally:
        engine.dispose()


def query(database: str, sql: str) -> list[tuple]:
    engine = create_engine(database, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()
