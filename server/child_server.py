"""A server run as a child process: on a free loopback port, polled until it answers, and
always stopped.

`python -m voice` runs `python -m server` this way; the benchmarks run servers and the fake
Anthropic API the same way. Used as an async context manager, the child is stopped on
success, errors, Ctrl-C and cancellation alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import aiohttp

from server.parent_death import tied_to_parent

_POLL = 0.05
# A child that exits at start-up may have lost its port to another process: try new ports.
_PORT_TRIES = 3
# `python -m server` ends its CLIs within its 5 s shutdown timeout after SIGTERM.
STOP_GRACE = 8.0


class ChildServerError(RuntimeError):
    """A child server could not be started."""


def free_port() -> int:
    """A loopback port nothing listens on right now (another process may still take it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_argv(port: int, *, cli: str, model: str, flags: Sequence[str] = ()) -> list[str]:
    """The argv of `python -m server` on loopback `port`, answering only with `model`.

    Args:
        port: The port to listen on.
        cli: The server's `--cli`.
        model: Its only model, and so its default.
        flags: More flags, each in `--flag=value` form, after these.
    """
    return [
        sys.executable,
        "-m",
        "server",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--cli={cli}",
        f"--models={model}",
        f"--default-model={model}",
        *flags,
    ]


class ChildServer:
    """`argv_for(port)` run on a free port until it is stopped.

    Ready once `GET ready_path` answers with a status below 500. The child runs in its own
    session, so a Ctrl-C at the terminal reaches only the parent, which then stops its
    children in order; if the parent dies without doing so, the kernel kills the child
    (`tied_to_parent`). Its stdout and stderr go to `log_path` (appended), or to the
    parent's own when that is None.
    """

    def __init__(
        self,
        name: str,
        argv_for: Callable[[int], Sequence[str]],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log_path: Path | None = None,
        ready_path: str = "/health",
        start_timeout: float = 60.0,
    ):
        self.name = name
        self._argv_for = argv_for
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._log_path = log_path
        self._ready_path = ready_path
        self._start_timeout = start_timeout
        self._process: asyncio.subprocess.Process | None = None
        self.port = 0
        self.argv: list[str] = []
        self.killed = False  # whether the last stop needed SIGKILL

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
            except _ExitedAtStart as e:
                await self.stop()
                if attempt == _PORT_TRIES - 1:
                    raise ChildServerError(str(e)) from None
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

    def exited(self) -> Coroutine[Any, Any, int]:
        """Wait until the running child exits, by itself or by `stop`; its exit code.

        The child is the one running at the call, even if it is stopped before the wait.
        """
        assert self._process is not None
        return self._process.wait()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the child printed."""
        if self._log_path is None:
            return "(its output went to this process's own)"
        try:
            text = self._log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL to its process group after a grace period; reap it.

        Returns:
            The child's exit code, or None when it was not running.
        """
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return None
        self.killed = False
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_GRACE):
                await process.wait()
        except TimeoutError:
            pass
        finally:
            # Also reached when cancelled mid-wait (a second Ctrl-C): the child still goes.
            if process.returncode is None:
                self.killed = True
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                await process.wait()
        return process.returncode

    async def _start_once(self) -> None:
        self.port = free_port()
        self.argv = [str(a) for a in self._argv_for(self.port)]
        with self._open_log() as log:
            self._process = await asyncio.create_subprocess_exec(
                *tied_to_parent(self.argv),
                cwd=self._cwd,
                env=self._env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT if log else None,
                start_new_session=True,
            )
        await self._wait_ready()

    def _open_log(self) -> contextlib.AbstractContextManager[BinaryIO | None]:
        return open(self._log_path, "ab") if self._log_path else contextlib.nullcontext()

    async def _wait_ready(self) -> None:
        assert self._process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._start_timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if self._process.returncode is not None:
                    raise _ExitedAtStart(
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
                    raise ChildServerError(
                        f"{self.name} did not answer within {self._start_timeout:g} s:"
                        f"\n{self.log_tail()}"
                    )
                await asyncio.sleep(_POLL)


class _ExitedAtStart(Exception):
    """The child exited before it answered: perhaps another process took its port."""
