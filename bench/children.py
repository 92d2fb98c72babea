"""Helper servers (the fake upstream, the completions server) run as child processes.

Each one gets a free loopback port, is polled until it answers, and is always ended: used as
an async context manager it is stopped on success, errors, Ctrl-C and cancellation alike.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
_POLL = 0.05
_PORT_TRIES = 3
# `python -m server` ends its CLIs within its 5 s shutdown timeout after SIGTERM.
_STOP_GRACE = 8.0


class ChildFailed(RuntimeError):
    """A helper server could not be started."""


def free_port() -> int:
    """A loopback port nothing listens on right now (another process may still take it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChildServer:
    """`argv_for(port)` run from the project root until it is stopped.

    Ready once `GET ready_path` answers with a status below 500; its output goes to
    `log_path`, whose tail is shown when it fails to start.
    """

    def __init__(
        self,
        name: str,
        argv_for: Callable[[int], Sequence[str]],
        *,
        env: Mapping[str, str],
        log_path: Path,
        ready_path: str = "/",
        start_timeout: float = 60.0,
    ):
        self.name = name
        self._argv_for = argv_for
        self._env = dict(env)
        self._log_path = log_path
        self._ready_path = ready_path
        self._start_timeout = start_timeout
        self._process: asyncio.subprocess.Process | None = None
        self.port = 0
        self.argv: list[str] = []

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs."""
        return self._process.pid if self._process else None

    @property
    def url(self) -> str:
        """The base URL, `http://127.0.0.1:PORT`."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ChildServer:
        for attempt in range(_PORT_TRIES):
            try:
                await self._start_once()
                return self
            except ChildFailed:
                await self.stop()
                if attempt == _PORT_TRIES - 1:
                    raise
            except BaseException:  # cancelled (Ctrl-C) while starting: __aexit__ will not run
                await self.stop()
                raise
        raise AssertionError("unreachable")

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _start_once(self) -> None:
        self.port = free_port()
        self.argv = [str(a) for a in self._argv_for(self.port)]
        with self._open_log() as log:
            # Its own session: a Ctrl-C at the terminal reaches only the bench, which then
            # stops its children in order.
            self._process = await asyncio.create_subprocess_exec(
                *self.argv,
                cwd=ROOT,
                env=self._env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        await self._wait_ready()

    def _open_log(self) -> BinaryIO:
        return open(self._log_path, "ab")

    async def _wait_ready(self) -> None:
        assert self._process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._start_timeout
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                if self._process.returncode is not None:
                    raise ChildFailed(
                        f"{self.name} exited with code {self._process.returncode} at start-up:"
                        f"\n{self.log_tail()}"
                    )
                try:
                    async with session.get(self.url + self._ready_path) as response:
                        if response.status < 500:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                if loop.time() > deadline:
                    raise ChildFailed(
                        f"{self.name} did not answer within {self._start_timeout:g} s:"
                        f"\n{self.log_tail()}"
                    )
                await asyncio.sleep(_POLL)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the child printed."""
        try:
            text = self._log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL to its process group after a grace period; reap it."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(_STOP_GRACE):
                await process.wait()
        except TimeoutError:
            pass
        finally:
            if process.returncode is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                await process.wait()
