"""`python -m crawler` in a process of its own, without paying for Python's start-up and the
CLI's imports at every call: `tests.conftest.run_cli` runs the real CLI through this.

Importing what a `newsmon crawl` needs (Scrapy, Twisted, SQLAlchemy, Alembic, the CLI) took
3-7 s of a new process's time on the shared 2-core test machine, for every call. Here a server
process imports them once (`python -m tests.forked_cli`), and every call forks it: the child
takes the call's arguments, environment, working directory and standard streams as
`subprocess.run` would give them to a new process, runs `crawler/__main__.py` as `__main__`
(what `python -m crawler` runs) and ends as the interpreter ends (threads joined, atexit
handlers, streams flushed), with the same exit code.
The server stays single-threaded, never installs a reactor and never runs a command, so each
child starts with what a new `python -m crawler` process has after its imports: a reactor not
yet installed, no cached store or index, default warning filters and logging. Python reseeds
`random` in a forked child; the hash seed is the server's (tests that need their own seed run
`python` themselves).

The protocol is one JSON line per call from the test (args, env, cwd, the files standing for
standard output and error) and two back: the child's pid (so a timeout can kill it), then its
exit code, negative for a signal as `subprocess` reports it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import locale
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# What the commands import: the CLI, the crawl's own components, the store's migrations.
PRELOAD = (
    "alembic.config",
    "alembic.runtime.migration",
    "alembic.script",
    "sqlalchemy.dialects.sqlite",
    "multiprocessing.forkserver",
    "concurrent.futures.process",
    "crawler.cli.main",
    "crawler.schedule.one_pass",
    "crawler.spiders",
    "crawler.settings",
    "crawler.addon",
    "crawler.middlewares",
    "crawler.extensions",
    "pipelines.extract",
    "pipelines.dedup",
    "pipelines.tag",
    "pipelines.story",
    "pipelines.store",
    "scrapy.crawler",
)


# --- the server (python -m tests.forked_cli) -----------------------------------------------


def serve() -> None:
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # nothing the imports print may reach the replies
    os.close(devnull)
    for name in PRELOAD:
        # A module renamed since this list was written is imported by the child as needed.
        with contextlib.suppress(ModuleNotFoundError):
            __import__(name)
    _preload_scrapy_components()
    assert "twisted.internet.reactor" not in sys.modules, "a preload installed a reactor"
    assert threading.active_count() == 1, "a preload started a thread: forking would lose it"
    # The children share what the imports made; without this their collector would visit (and
    # so copy) every inherited object, and their exit took 0.6-1 s instead of 0.4.
    gc.freeze()
    replies.write(b'{"ready": true}\n')
    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            requests.close()
            replies.close()
            _child(request)  # runs the CLI and exits through the interpreter's own exit
        replies.write(json.dumps({"pid": pid}).encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode())
        replies.write(b"\n")


def _preload_scrapy_components() -> None:
    """The modules of Scrapy's default components, which a crawl loads by name."""
    from scrapy.settings import default_settings
    from scrapy.utils.misc import load_object

    names = [
        *default_settings.DOWNLOADER_MIDDLEWARES_BASE,
        *default_settings.SPIDER_MIDDLEWARES_BASE,
        *default_settings.EXTENSIONS_BASE,
        *default_settings.DOWNLOAD_HANDLERS_BASE.values(),
    ]
    names += [
        value
        for key, value in vars(default_settings).items()
        if key.isupper() and isinstance(value, str) and value.startswith("scrapy.")
    ]
    for name in filter(None, names):
        # Optional components (S3, FTP...) whose libraries are not installed fail to load.
        with contextlib.suppress(ImportError, NameError, ValueError):
            load_object(name)


def _child(request: dict[str, Any]) -> None:
    import runpy

    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        os.close(stdin)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(path, os.O_WRONLY | os.O_TRUNC)
            os.dup2(target, fd)
            os.close(target)
        sys.argv = ["-m", *request["args"]]  # runpy puts crawler/__main__.py's path first
        sys.path[0] = os.getcwd()  # as `python -m` does
    except BaseException:
        traceback.print_exc()  # to the server's log
        os._exit(255)
    runpy.run_module("crawler", run_name="__main__", alter_sys=True)
    sys.exit(0)


# --- the client (pytest's side) ------------------------------------------------------------


class ForkedCli:
    """One server per test process, started at the first call, stopped at exit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.server: subprocess.Popen[bytes] | None = None
        # The server's own standard error, for the message when it dies.
        self.log = Path(tempfile.gettempdir(), f"newsmon-cli-server-{os.getpid()}.log")

    def _start(self) -> subprocess.Popen[bytes]:
        if self.server is not None and self.server.poll() is None:
            return self.server
        environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
        environment["PYTHONPATH"] = str(REPO)
        with self.log.open("wb") as log:
            self.server = subprocess.Popen(
                [sys.executable, "-m", "tests.forked_cli"],
                cwd=REPO,
                env=environment,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        assert self._reply(self.server) == {"ready": True}
        return self.server

    def _reply(self, server: subprocess.Popen[bytes]) -> dict[str, Any]:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line:
            code = server.wait()
            raise RuntimeError(f"the CLI fork server exited ({code}): {self.log.read_text()}")
        return json.loads(line)

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            assert self.server.stdin is not None
            self.server.stdin.close()
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        if self.server is not None and self.server.stdout is not None:
            # Left open, it is collected at exit with a ResourceWarning that pytest-xdist's
            # workers print after the summary.
            self.server.stdout.close()
        self.log.unlink(missing_ok=True)

    def run(
        self, args: list[str], cwd: Path, env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "crawler", *args]
        if not self.lock.acquire(blocking=False):  # a call already running: a real process
            return subprocess.run(
                command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
            )
        try:
            with tempfile.TemporaryDirectory(prefix="newsmon-cli-") as directory:
                out, err = Path(directory, "stdout"), Path(directory, "stderr")
                out.touch()
                err.touch()
                returncode = self._call(args, cwd, env, timeout, out, err)
                return subprocess.CompletedProcess(command, returncode, _read(out), _read(err))
        finally:
            self.lock.release()

    def _call(
        self, args: list[str], cwd: Path, env: dict[str, str], timeout: float, out: Path, err: Path
    ) -> int:
        server = self._start()
        assert server.stdin is not None
        request = {
            "args": list(args),
            "cwd": str(cwd),
            "env": env,
            "stdout": str(out),
            "stderr": str(err),
        }
        server.stdin.write(json.dumps(request).encode() + b"\n")
        server.stdin.flush()
        pid = self._reply(server)["pid"]
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            os.kill(pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            returncode = self._reply(server)["returncode"]
        finally:
            timer.cancel()
        if expired.is_set():  # as subprocess.run reports a timeout
            raise subprocess.TimeoutExpired(
                ["python", "-m", "crawler", *args], timeout, out.read_bytes(), err.read_bytes()
            )
        return returncode


def _read(path: Path) -> str:
    # As subprocess.run(text=True) decodes a pipe: the locale's encoding, universal newlines.
    with path.open(encoding=locale.getpreferredencoding(False)) as stream:
        return stream.read()


if __name__ == "__main__":
    serve()
