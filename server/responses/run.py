"""One response being answered: the CLI run, its numbered event log, and its end, stored once.

Every event gets the next `sequence_number` and goes into the log, so any number of
followers (the request that started it, a client reconnecting with `starting_after`) read the
same events in the same order and miss none. A run ends exactly once: `completed`, `failed`,
or `cancelled` when its task is cancelled (`POST .../cancel`, the server shutting down, or,
for a run that is not in the background, the client hanging up); the end is stored (a
conditional UPDATE, so a finished answer is never overwritten) before followers hear it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

from server.cli.answering import answering
from server.cli.events import Result, TextDelta, ThinkingDelta
from server.cli.processes import CliProcesses
from server.errors import ServerError
from server.responses.request import ResponsesRequest
from server.responses.shapes import Output
from server.responses.store import ResponseStore

log = logging.getLogger(__name__)


class Run:
    """A response's answer in progress, its events, and how it ended."""

    def __init__(self, request: ResponsesRequest, store: ResponseStore | None, owner: str):
        self.request = request
        self.output = Output(
            model=request.model,
            instructions=request.instructions,
            background=request.background,
            effort=request.effort,
            metadata=request.metadata,
            store=request.store,
        )
        self.id = self.output.id
        # Each event's type and JSON, taken when it happened; its index is its sequence_number.
        self.events: list[tuple[str, str]] = []
        self.failure: ServerError | None = None
        self.done = False
        self._store = store
        self._owner = owner
        self._wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def begin(self) -> None:
        """Log the `response.created` events; a background run is stored as running."""
        self._emit(self.output.created())
        if self.request.background and self._store is not None:
            await self._store.add(self.output.response(), owner=self._owner)

    async def execute(
        self, processes: CliProcesses, first_output: Callable[[float], None] = lambda s: None
    ) -> None:
        """Answer through a CLI process and end the run; never raises but `CancelledError`
        (after storing the run as cancelled)."""
        req = self.request
        try:
            async with answering(
                processes, req.model, req.turns, req.thinking, first_output
            ) as answer:
                self._emit(self.output.started())
                if req.background and self._store is not None:
                    await self._store.start(self.output.response())
                async with aclosing(answer.events) as events:
                    async for event in events:
                        if isinstance(event, ThinkingDelta):
                            self._emit(self.output.thinking(event.text))
                        elif isinstance(event, TextDelta):
                            self._emit(self.output.text_delta(event.text))
                        elif isinstance(event, Result):
                            self.output.usage = event.usage
        except ServerError as e:
            log.warning("response %s failed: %s", self.id, e.message)
            self.failure = e
            await self._end("failed", {"code": e.code or e.type, "message": e.message})
            return
        except asyncio.CancelledError:
            # The lease was left above, so the CLI has had its SIGTERM already.
            await self._end("cancelled")
            raise
        except Exception:
            log.exception("response %s failed inside the server", self.id)
            await self._end("failed", {"code": "server_error", "message": "internal server error"})
            return
        await self._end("completed")

    async def follow(self, after: int = -1) -> AsyncIterator[tuple[str, str]]:
        """The log's events (type, JSON) after sequence number `after`, then each new one
        until the end."""
        i = after + 1
        while True:
            wake = self._wake
            while i < len(self.events):
                yield self.events[i]
                i += 1
            if self.done:
                return
            await wake.wait()

    async def _end(self, status: str, error: dict[str, str] | None = None) -> None:
        if self.done:
            return
        self.done = True  # before any await: a cancel racing this end finds it ended
        for event in self.output.finished(status, error):
            self._log(event)
        try:
            if self._store is not None and self.request.store:
                await self._stored()
        except Exception:
            log.exception("response %s ended %s but could not be stored", self.id, status)
        finally:
            self._wake.set()

    async def _stored(self) -> None:
        assert self._store is not None
        events = [json.loads(data) for _, data in self.events]
        if self.request.background:
            if not await self._store.finish(self.output.response(), events):
                log.info("response %s had already ended; its stored end stands", self.id)
        elif self.output.status != "cancelled":  # a plain run's client hung up: nothing kept
            await self._store.add(self.output.response(), owner=None, events=events)

    def _emit(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self._log(event)
        wake, self._wake = self._wake, asyncio.Event()
        wake.set()

    def _log(self, event: dict[str, Any]) -> None:
        numbered = {**event, "sequence_number": len(self.events)}
        data = json.dumps(numbered, ensure_ascii=False, separators=(",", ":"))
        self.events.append((event["type"], data))
