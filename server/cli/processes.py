"""Every CLI process the server runs, handed out one lease at a time.

`lease(model)` is the only way a request gets a process: it takes a slot (or raises `Busy`),
takes a warm process or spawns one, and when the request is over ends that process, frees the
slot once it is reaped and refills the warm pool. So there are never more than
`max_concurrency` busy processes plus the warm ones, and no route handles any of this itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from server.cli.command import process_model
from server.cli.process import CliProcess
from server.cli.slots import Slots
from server.cli.supervisor import CliSupervisor
from server.cli.warm_pool import WarmPools
from server.settings import Settings


class CliProcesses:
    """The supervisor, the request slots and the warm pools of one server, behind `lease`."""

    def __init__(self, settings: Settings):
        self._cli = settings.cli
        self.supervisor = CliSupervisor(
            cli=settings.cli,
            env=settings.cli_env,
            max_line_bytes=settings.max_line_bytes,
            kill_grace=settings.kill_grace,
        )
        self.slots = Slots(settings.max_concurrency, settings.queue_timeout)
        self.warm = WarmPools(
            self.supervisor,
            size=settings.warm,
            max_age=settings.warm_max_age,
            preload=(process_model(settings.cli, settings.default_model),),
        )

    def start(self) -> None:
        """Start filling the default model's warm pool."""
        self.warm.start()

    @asynccontextmanager
    async def lease(self, model: str) -> AsyncIterator[CliProcess]:
        """A process for `model`, for the length of the `async with` block.

        Raises `Busy` when no slot comes free within the queue timeout and `CliUnavailable`
        when no process can be started; either way nothing is left held. On leaving the block
        (normally, by an error or by cancellation when the client hangs up) the process gets
        SIGTERM at once and is reaped in the background; its slot comes free, and its pool
        refills, once it is: nothing competes with the dying process for the CPU, and the
        caller does not wait.
        """
        pool_model = process_model(self._cli, model)
        await self.slots.acquire()
        try:
            proc = await self.warm.acquire(pool_model)
        except BaseException:
            self.slots.release()
            raise

        def reaped(_: asyncio.Task[None]) -> None:
            self.slots.release()
            self.warm.request_ended(pool_model)

        try:
            yield proc
        finally:
            self.supervisor.release(proc).add_done_callback(reaped)

    def health(self) -> dict[str, Any]:
        """Processes (live, spawned, serving pids), slots and per-model warm pool counters."""
        idle_or_ending = self.warm.idle_pids() | set(self.supervisor.ending_pids)
        return {
            "processes": {
                "live": self.supervisor.live,
                "spawned": self.supervisor.spawned,
                "serving_pids": sorted(set(self.supervisor.live_pids) - idle_or_ending),
            },
            "slots": {"in_use": self.slots.in_use, "limit": self.slots.limit},
            "warm": self.warm.stats(),
        }

    async def aclose(self) -> None:
        """Stop refilling, end every process, warm or busy, and wait until all are reaped."""
        await self.warm.aclose()
        await self.supervisor.aclose()
