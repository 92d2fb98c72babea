"""A cap on CLI processes running at once, with a bounded wait for a free slot."""

from __future__ import annotations

import asyncio
import math

from server.errors import Busy


class Slots:
    """At most `limit` holders at once; a newcomer waits `queue_timeout` seconds, then `Busy`."""

    def __init__(self, limit: int, queue_timeout: float):
        self._semaphore = asyncio.Semaphore(limit)
        self._limit = limit
        self._queue_timeout = queue_timeout
        self.in_use = 0
        self.waited = 0  # acquisitions that found every slot taken
        self.refused = 0  # of those, the ones that gave up with `Busy`
        self.none_in_use = asyncio.Event()  # set while no slot is held
        self.none_in_use.set()

    @property
    def limit(self) -> int:
        return self._limit

    async def acquire(self) -> None:
        """Take a slot, waiting at most the queue timeout; raise `Busy` after that."""
        if self._semaphore.locked():
            self.waited += 1
        try:
            async with asyncio.timeout(self._queue_timeout):
                await self._semaphore.acquire()
        except TimeoutError:
            self.refused += 1
            raise Busy(
                f"all {self._limit} CLI slots are busy; try again shortly",
                retry_after=max(1, math.ceil(self._queue_timeout)),
            ) from None
        self.in_use += 1
        self.none_in_use.clear()

    def release(self) -> None:
        """Give a slot back."""
        self.in_use -= 1
        if self.in_use == 0:
            self.none_in_use.set()
        self._semaphore.release()
