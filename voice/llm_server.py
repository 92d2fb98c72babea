"""The bundled completions server (`python -m server`) as a child process of the voice app."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass

import aiohttp
from loguru import logger

# `python -m server` ends its CLIs within its own 5 s shutdown timeout after SIGTERM.
_STOP_GRACE = 8.0
_HEALTH_POLL = 0.05


@dataclass(frozen=True)
class LlmEndpoint:
    """Where completions come from: an OpenAI-compatible base URL and its key."""

    base_url: str
    api_key: str | None


class LlmServerError(RuntimeError):
    """The bundled server could not be started."""


def server_argv(*, port: int, api_key: str, cli: str, model: str) -> list[str]:
    """The argv that runs the bundled server on loopback `port`, answering only with `model`."""
    return [
        sys.executable,
        "-m",
        "server",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--api-key={api_key}",
        f"--cli={cli}",
        f"--models={model}",
        f"--default-model={model}",
    ]


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BundledLlmServer:
    """Starts `python -m server` on a free port with a random key; ends it on exit.

    Use as `async with BundledLlmServer(cli=..., model=...) as endpoint:`. The child runs in
    its own session, so a Ctrl-C at the terminal reaches only the voice app, which ends its
    voice sessions (closing their completion requests) before it stops the server.
    """

    def __init__(self, *, cli: str, model: str, start_timeout: float = 60.0):
        self._cli = cli
        self._model = model
        self._start_timeout = start_timeout
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process else None

    async def __aenter__(self) -> LlmEndpoint:
        port, api_key = free_port(), secrets.token_urlsafe(24)
        argv = server_argv(port=port, api_key=api_key, cli=self._cli, model=self._model)
        self._process = await asyncio.create_subprocess_exec(*argv, start_new_session=True)
        logger.info(f"started the completions server, pid {self._process.pid}, port {port}")
        url = f"http://127.0.0.1:{port}"
        try:
            await self._wait_healthy(url)
        except BaseException:
            await self.stop()
            raise
        return LlmEndpoint(base_url=f"{url}/v1", api_key=api_key)

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def exited(self) -> int:
        """Wait until the running server exits, by itself or by `stop`; its exit code."""
        assert self._process is not None
        return await self._process.wait()

    async def _wait_healthy(self, url: str) -> None:
        assert self._process is not None
        deadline = asyncio.get_running_loop().time() + self._start_timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                if self._process.returncode is not None:
                    raise LlmServerError(
                        f"the completions server exited with {self._process.returncode}"
                    )
                try:
                    async with http.get(f"{url}/health") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise LlmServerError(f"no /health from the completions server at {url}")
                await asyncio.sleep(_HEALTH_POLL)

    async def stop(self) -> None:
        """SIGTERM the server, SIGKILL its process group if it lingers, and reap it."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), _STOP_GRACE)
        except TimeoutError:
            logger.warning(f"completions server {process.pid} ignored SIGTERM; killing it")
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await process.wait()
        logger.info(f"completions server {process.pid} ended with {process.returncode}")
