"""The moment a process exits, read from the process itself through a pidfd.

A pidfd becomes readable when its process exits, whoever its parent is, so this times the
end of a CLI the bench did not start (one the server runs) as precisely as one it did.
"""

from __future__ import annotations

import asyncio
import os
import select
import time
from types import TracebackType


class ProcessExit:
    """Watch one pid; `wait()` returns the `time.perf_counter()` of its exit.

    Open it while the process is alive: a pid that already exited may have been reused.
    """

    def __init__(self, pid: int):
        self._fd = os.pidfd_open(pid)
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[float] = self._loop.create_future()
        self._loop.add_reader(self._fd, self._on_readable)

    def __enter__(self) -> ProcessExit:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def exited(self) -> bool:
        """True once the process has exited (checked now, without waiting)."""
        return bool(select.select([self._fd], [], [], 0)[0])

    async def wait(self) -> float:
        """Wait for the exit; returns when it was seen, as a `time.perf_counter()` value."""
        return await asyncio.shield(self._exited)

    def close(self) -> None:
        """Stop watching and close the pidfd."""
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1

    def _on_readable(self) -> None:
        seen = time.perf_counter()
        self._loop.remove_reader(self._fd)
        if not self._exited.done():
            self._exited.set_result(seen)
