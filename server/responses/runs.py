"""Every response this server is running, and the store they end up in.

The store is opened on first use (a server that never sees `/v1/responses` creates no file);
opening it fails the runs a stopped server left behind. While runs are live, a beat every few
seconds says this server is alive (so servers sharing a PostgreSQL store fail only another's
abandoned runs) and stops the runs another server has cancelled; stored responses older than
`--store-ttl` are purged. At shutdown every background run is cancelled and stored as such.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress

from server.database import StoreError
from server.errors import StoreUnavailable
from server.responses.run import Run
from server.responses.shapes import new_id
from server.responses.store import ResponseStore

log = logging.getLogger(__name__)

BEAT_EVERY = 5.0
# A running response whose server has not beaten for this long was abandoned (PostgreSQL).
ABANDONED_AFTER = 30.0
# How long a shutdown waits for cancelled runs to store their end.
_CANCEL_WAIT = 5.0


class Responses:
    """The live runs by id, the lazily opened store, and the beat that keeps them owned."""

    def __init__(self, db: str, ttl: float):
        self.owner = new_id("server")
        self.runs: dict[str, Run] = {}
        self._target = db
        self._ttl = ttl
        self._store: ResponseStore | None = None
        self._opening = asyncio.Lock()
        self._beat: asyncio.Task[None] | None = None

    async def store(self) -> ResponseStore:
        """The store, opened (and swept of abandoned runs) on first use."""
        async with self._opening:
            if self._store is None:
                try:
                    store = await asyncio.to_thread(ResponseStore.open, self._target)
                except StoreError as e:
                    raise StoreUnavailable(str(e)) from e
                # An SQLite file is one server's: whatever it left running was abandoned.
                failed = await store.fail_abandoned(
                    silent_for=ABANDONED_AFTER if store.shared else None
                )
                if failed:
                    log.warning("marked %d abandoned response(s) failed in %s", failed, store.where)
                self._store = store
                self._beat = asyncio.create_task(self._keep_beating(), name="responses-beat")
            return self._store

    def track(self, run: Run) -> None:
        """Track `run` (its `task` set) until its task is over."""
        self.runs[run.id] = run
        assert run.task is not None
        run.task.add_done_callback(lambda _: self.runs.pop(run.id, None))

    async def cancel(self, run: Run) -> None:
        """Cancel `run` and wait until its end is stored."""
        assert run.task is not None
        run.task.cancel()
        with suppress(asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(run.task), _CANCEL_WAIT)

    async def cancel_background(self) -> None:
        """Cancel every background run; each stores itself as cancelled."""
        await self._cancel([run for run in self.runs.values() if run.request.background])

    async def aclose(self) -> None:
        """Cancel every run still going (each stores itself as cancelled), then close the
        store."""
        await self._cancel(list(self.runs.values()))
        if self._beat is not None:
            self._beat.cancel()
            with suppress(asyncio.CancelledError):
                await self._beat
        if self._store is not None:
            await self._store.close()

    async def _cancel(self, runs: list[Run]) -> None:
        runs = [run for run in runs if run.task is not None]
        for run in runs:
            run.task.cancel()
        if runs:
            await asyncio.wait([run.task for run in runs], timeout=_CANCEL_WAIT)

    async def _keep_beating(self) -> None:
        assert self._store is not None
        last_sweep = 0.0
        while True:
            await asyncio.sleep(BEAT_EVERY)
            try:
                background = [run for run in self.runs.values() if run.request.background]
                if background:
                    await self._store.beat(self.owner)
                if background and self._store.shared:
                    ended = await self._store.ended([run.id for run in background])
                    for id in ended:
                        if (run := self.runs.get(id)) is not None and run.task is not None:
                            log.info("response %s was ended by another server", id)
                            run.task.cancel()
                if time.time() - last_sweep > ABANDONED_AFTER:
                    last_sweep = time.time()
                    if self._store.shared:
                        await self._store.fail_abandoned(silent_for=ABANDONED_AFTER)
                    await self._store.purge(time.time() - self._ttl)
            except Exception:
                log.exception("responses store upkeep failed; trying again")
