"""The bundled completions server (`python -m server`) as a child process of the voice app."""

from __future__ import annotations

import os
import secrets
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from loguru import logger

from server import child_server
from server.child_server import ChildServer, ChildServerError, free_port
from server.local_cli.options import EXPECTED_SYSTEM_ENV
from server.settings import env_var
from voice.prompt import SYSTEM_PROMPT

SERVER_API_KEY = env_var("--api-key")

__all__ = [
    "BundledLlmServer",
    "LlmEndpoint",
    "LlmServerError",
    "free_port",
    "server_argv",
    "server_env",
]


@dataclass(frozen=True)
class LlmEndpoint:
    """Where completions come from: an OpenAI-compatible base URL and its key."""

    base_url: str
    api_key: str | None


class LlmServerError(RuntimeError):
    """The bundled server could not be started."""


def server_argv(*, port: int, cli: str, model: str) -> list[str]:
    """The argv that runs the bundled server on loopback `port`, answering only with `model`.

    Its API key is not here: argv is readable by every local user (`ps`), so the key goes
    through the child's environment (`server_env`).
    """
    return child_server.server_argv(port, cli=cli, model=model)


def server_env(api_key: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The bundled server's environment: ours, with its API key and, for the local model's
    processes (which inherit it), the system prompt every call opens with unless ours names
    another, so a process waiting for a call's first turn has already read it
    (`server.local_cli`)."""
    return {EXPECTED_SYSTEM_ENV: SYSTEM_PROMPT, **environ, SERVER_API_KEY: api_key}


class BundledLlmServer:
    """Starts `python -m server` on a free port with a random key; ends it on exit.

    Use as `async with BundledLlmServer(cli=..., model=...) as endpoint:`. The child runs in
    its own session, so a Ctrl-C at the terminal reaches only the voice app, which ends its
    voice sessions (closing their completion requests) before it stops the server.
    """

    def __init__(self, *, cli: str, model: str, start_timeout: float = 60.0):
        self._api_key = secrets.token_urlsafe(24)
        self._child = ChildServer(
            "the completions server",
            lambda port: server_argv(port=port, cli=cli, model=model),
            env=server_env(self._api_key, os.environ),
            ready_path="/health",
            start_timeout=start_timeout,
        )

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._child.pid

    async def __aenter__(self) -> LlmEndpoint:
        try:
            await self._child.__aenter__()
        except ChildServerError as e:
            raise LlmServerError(str(e)) from e
        logger.info(f"started the completions server, pid {self.pid}, port {self._child.port}")
        return LlmEndpoint(base_url=f"{self._child.url}/v1", api_key=self._api_key)

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def exited(self) -> Coroutine[Any, Any, int]:
        """Wait until the running server exits, by itself or by `stop`; its exit code."""
        return self._child.exited()

    async def stop(self) -> None:
        """SIGTERM the server, SIGKILL its process group if it lingers, and reap it."""
        pid = self.pid
        code = await self._child.stop()
        if code is None:
            return
        if self._child.killed:
            logger.warning(f"completions server {pid} ignored SIGTERM; it was killed")
        logger.info(f"completions server {pid} ended with {code}")
