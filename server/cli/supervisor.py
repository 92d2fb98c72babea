"""Start CLI processes and make sure every one of them ends, in the background and at shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping

from server.cli.command import ProcessSpec, build_argv, cli_command
from server.cli.process import CliProcess

log = logging.getLogger(__name__)


class CliSupervisor:
    """Spawns CLI processes and owns their ending.

    `release` never blocks: it sends SIGTERM at once and reaps in a background task, so a
    cancelled request handler returns immediately while the process still dies within
    the grace period. `aclose` ends every process still alive and waits for all reaping.
    """

    def __init__(self, *, cli: str, env: Mapping[str, str], max_line_bytes: int, kill_grace: float):
        self._cli = cli
        self._env = dict(env)
        self._max_line_bytes = max_line_bytes
        self._kill_grace = kill_grace
        self._live: set[CliProcess] = set()
        self._closing: dict[CliProcess, asyncio.Task[None]] = {}
        self.spawned = 0

    @property
    def live(self) -> int:
        """Processes started and not yet fully reaped."""
        return len(self._live)

    @property
    def live_pids(self) -> list[int]:
        """The pids of processes started and not yet fully reaped."""
        return [proc.pid for proc in self._live]

    @property
    def ending_pids(self) -> list[int]:
        """The pids of processes released and not yet reaped."""
        return [proc.pid for proc in self._closing]

    async def spawn(self, spec: ProcessSpec) -> CliProcess:
        """Start a CLI process for `spec`, waiting on stdin for its prompt."""
        proc = await CliProcess.start(
            build_argv(cli_command(self._cli), spec.model),
            env={**self._env, **spec.thinking.env()},
            max_line_bytes=self._max_line_bytes,
        )
        self.spawned += 1
        self._live.add(proc)
        log.debug("started CLI pid %d for %s", proc.pid, spec)
        return proc

    def release(self, proc: CliProcess) -> asyncio.Task[None]:
        """End `proc` (idempotent); the returned task finishes once it is reaped."""
        task = self._closing.get(proc)
        if task is None:
            proc.signal(signal.SIGTERM)  # now, not when the reaping task first runs
            task = asyncio.create_task(self._close(proc), name=f"reap-cli-{proc.pid}")
            self._closing[proc] = task
        return task

    async def aclose(self) -> None:
        """End every live process and wait until all are reaped."""
        tasks = [self.release(proc) for proc in list(self._live)]
        tasks += list(self._closing.values())
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _close(self, proc: CliProcess) -> None:
        try:
            await proc.close(self._kill_grace)
            log.debug("CLI pid %d ended with %s", proc.pid, proc.returncode)
        except Exception:
            log.exception("failed to end CLI pid %d", proc.pid)
        finally:
            self._live.discard(proc)
            self._closing.pop(proc, None)
