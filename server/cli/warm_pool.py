"""CLI processes started ahead of requests and waiting on stdin, so answers skip start-up.

Each process serves exactly one request and is then discarded: the server stays stateless,
since every request carries its whole flattened history. Only what is fixed at spawn (model,
thinking, flags) is per pool; the prompt goes over stdin when the request comes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

from server.cli.command import ProcessSpec
from server.cli.process import CliProcess
from server.cli.supervisor import CliSupervisor
from server.errors import CliUnavailable

log = logging.getLogger(__name__)

_RESPAWN_DELAY = 0.5


@dataclass
class PoolStats:
    """Counters for one pool, reported by `/health`."""

    hits: int = 0
    misses: int = 0
    died: int = 0
    recycled: int = 0
    spawn_failures: int = 0


class ModelPool:
    """Up to `size` idle processes for one process spec, refilled in the background."""

    def __init__(self, supervisor: CliSupervisor, spec: ProcessSpec, size: int, max_age: float):
        self._supervisor = supervisor
        self._spec = spec
        self._size = size
        self._max_age = max_age
        self._idle: deque[CliProcess] = deque()
        self._watchers: dict[CliProcess, asyncio.Task[None]] = {}
        self._spawning = 0
        self._refills: set[asyncio.Task[None]] = set()
        self._closed = False
        self.stats = PoolStats()

    @property
    def idle(self) -> int:
        return len(self._idle)

    @property
    def idle_pids(self) -> list[int]:
        return [proc.pid for proc in self._idle]

    def fill(self) -> None:
        """Start spawning until idle plus in-flight spawns reach the pool size."""
        while not self._closed and len(self._idle) + self._spawning < self._size:
            self._spawning += 1
            task = asyncio.create_task(self._spawn_one(), name=f"warm-{self._spec}")
            self._refills.add(task)
            task.add_done_callback(self._refills.discard)

    def take(self) -> CliProcess | None:
        """Hand out a healthy idle process, or None (a miss, which starts a refill at once).

        After a hit the pool refills when the request ends (`fill` from the caller): a CLI
        starting up takes most of a core for about a second, which would slow the very answer
        the caller is waiting for (measured: +74 ms to the first token at concurrency 2).
        """
        now = asyncio.get_running_loop().time()
        proc = None
        while self._idle:
            candidate = self._idle.popleft()
            self._watchers.pop(candidate).cancel()
            if not candidate.alive():
                self.stats.died += 1
                self._discard(candidate)
            elif now - candidate.started_at > self._max_age:
                self.stats.recycled += 1
                self._discard(candidate)
            else:
                proc = candidate
                break
        if proc is None:
            self.stats.misses += 1
            self.fill()
        else:
            self.stats.hits += 1
        return proc

    def recycle_old(self) -> None:
        """Replace idle processes older than the maximum age."""
        now = asyncio.get_running_loop().time()
        for proc in [p for p in self._idle if now - p.started_at > self._max_age]:
            self._idle.remove(proc)
            self._watchers.pop(proc).cancel()
            self._discard(proc)
            self.stats.recycled += 1

    async def aclose(self) -> None:
        """Stop refilling and end every idle process."""
        self._closed = True
        for task in list(self._refills):
            task.cancel()
        await asyncio.gather(*self._refills, return_exceptions=True)
        for proc in list(self._idle):
            self._idle.remove(proc)
            self._watchers.pop(proc).cancel()
            self._supervisor.release(proc)

    async def _spawn_one(self) -> None:
        try:
            proc = await self._supervisor.spawn(self._spec)
        except CliUnavailable as e:
            self.stats.spawn_failures += 1
            log.warning("could not pre-start a CLI for %s: %s", self._spec, e.message)
            return
        finally:
            self._spawning -= 1
        if self._closed:
            self._supervisor.release(proc)
            return
        self._idle.append(proc)
        self._watchers[proc] = asyncio.create_task(self._watch(proc), name=f"watch-{proc.pid}")

    async def _watch(self, proc: CliProcess) -> None:
        """Notice an idle process that dies (crash, OOM) and replace it at once."""
        code = await proc.wait()
        log.warning("warm CLI pid %d for %s died while idle (exit %s)", proc.pid, self._spec, code)
        self.stats.died += 1
        self._idle.remove(proc)
        del self._watchers[proc]
        # A CLI that dies at once on every start must not spin: wait a little before refilling.
        self._discard(proc, refill_after=_RESPAWN_DELAY)

    def _discard(self, proc: CliProcess, refill_after: float = 0.0) -> None:
        """End a process that left the idle queue; refill once it is reaped (never above size)."""
        loop = asyncio.get_running_loop()
        reaped = self._supervisor.release(proc)
        reaped.add_done_callback(lambda _: loop.call_later(refill_after, self.fill))


class WarmPools:
    """One `ModelPool` per process spec: the default's from start-up, others from first use.

    At most `size` idle processes per pool; with the request slots that bounds all processes
    at `max_concurrency + size * specs in use`. Only preset thinking gets a pool (models times
    six at most); a process with any other thinking budget is spawned for its request.
    """

    def __init__(
        self,
        supervisor: CliSupervisor,
        *,
        size: int,
        max_age: float,
        preload: tuple[ProcessSpec, ...],
    ):
        self._supervisor = supervisor
        self._size = size
        self._max_age = max_age
        self._preload = preload
        self._pools: dict[ProcessSpec, ModelPool] = {}
        self._recycler: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        """Fill the preloaded pools and start recycling processes past their maximum age."""
        for spec in self._preload:
            self._pool(spec)
        if self._size:
            self._recycler = asyncio.create_task(self._recycle(), name="warm-recycler")

    async def acquire(self, spec: ProcessSpec) -> CliProcess:
        """A process for `spec`: a warm one when ready, else one spawned now (a miss).

        Call `request_ended(spec)` when the request it served is over.
        """
        proc = self._pool(spec).take() if self._pooled(spec) else None
        return proc if proc is not None else await self._supervisor.spawn(spec)

    def take_spare(self, spec: ProcessSpec) -> CliProcess | None:
        """A warm process for `spec` when one more than the next request needs is idle, else
        None; never spawns one for the caller. As after `acquire`, the pool refills at the next
        `request_ended(spec)`."""
        if not self._pooled(spec) or self._pool(spec).idle < 2:
            return None
        return self._pool(spec).take()

    def request_ended(self, spec: ProcessSpec) -> None:
        """Refill `spec`'s pool now that a request no longer needs the CPU."""
        if self._pooled(spec):  # a reap during shutdown must not start a pool
            self._pool(spec).fill()

    def stats(self) -> dict[str, dict[str, int]]:
        """Per spec: idle processes, target size and the hit/miss/died/recycled counters."""
        return {
            str(spec): {"idle": pool.idle, "size": self._size, **vars(pool.stats)}
            for spec, pool in self._pools.items()
        }

    def idle_pids(self) -> set[int]:
        """The pids of every idle process in every pool."""
        return {pid for pool in self._pools.values() for pid in pool.idle_pids}

    async def aclose(self) -> None:
        """Stop recycling and refilling; end every idle process."""
        self._closed = True
        if self._recycler is not None:
            self._recycler.cancel()
            await asyncio.gather(self._recycler, return_exceptions=True)
        await asyncio.gather(*(pool.aclose() for pool in self._pools.values()))

    def _pooled(self, spec: ProcessSpec) -> bool:
        return bool(self._size) and not self._closed and spec.thinking.preset

    def _pool(self, spec: ProcessSpec) -> ModelPool:
        pool = self._pools.get(spec)
        if pool is None:
            pool = self._pools[spec] = ModelPool(self._supervisor, spec, self._size, self._max_age)
            pool.fill()
        return pool

    async def _recycle(self) -> None:
        while True:
            await asyncio.sleep(max(0.1, self._max_age / 4))
            for pool in self._pools.values():
                pool.recycle_old()
