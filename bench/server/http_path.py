"""A path through a completions server: streaming requests and cancel trials over HTTP."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from typing import Any

import aiohttp

from bench import sse_stream
from bench.server.process_exit import ProcessExit
from bench.server.quiet import children_quiet
from bench.server.samples import Sample, SampleFailed, check_answer

_POOL_POLL = 0.02
_POOL_WAIT = 30.0
_EXIT_WAIT = 10.0
_QUIET_WAIT = 10.0


class HttpPath:
    """Streams `/v1/chat/completions` from one server with aiohttp, as a caller would.

    `refill` (seconds) paces a warm server. Taking a warm process spawns its replacement at
    once, and a starting CLI takes most of a core for a while, so the next request, on any
    path, must not compete with that start-up: after each batch the run waits until `refill`
    seconds after the batch began, and then, given the server's pid, until none of its
    children uses the CPU. Before each batch it waits until the pool reports enough idle
    processes (a miss would measure a cold start).
    """

    def __init__(
        self,
        name: str,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        prompt: str,
        model: str | None,
        expected: str | None,
        api_key: str | None = None,
        warm: int = 0,
        refill: float = 0.0,
        server_pid: int | None = None,
    ):
        self.name = name
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._body: dict[str, Any] = {
            "messages": [{"role": "user", "content": prompt}],
            "stream": True,
        }
        if model:
            self._body["model"] = model
        self._expected = expected
        self.warm = warm
        self._refill = refill
        self._server_pid = server_pid
        self._batch_started = 0.0

    async def health(self) -> dict[str, Any]:
        """The server's `GET /health` document."""
        async with self._session.get(self._root_url("/health")) as response:
            response.raise_for_status()
            return await response.json()

    async def pool_counts(self) -> dict[str, int]:
        """The warm pools' counters summed over models (`idle`, `hits`, `misses`, ...)."""
        totals: dict[str, int] = {}
        for stats in (await self.health()).get("warm", {}).values():
            for key, value in stats.items():
                totals[key] = totals.get(key, 0) + value
        return totals

    async def before_batch(self, count: int) -> None:
        """On a warm server, wait for `count` idle processes (see the class docstring)."""
        if not self.warm:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _POOL_WAIT
        while (await self.pool_counts()).get("idle", 0) < min(count, self.warm):
            if loop.time() > deadline:
                break  # measure anyway: the misses show in the pool counters
            await asyncio.sleep(_POOL_POLL)
        self._batch_started = loop.time()

    async def after_batch(self) -> None:
        """On a warm server, let the replacements start up (see the class docstring)."""
        if self.warm:
            loop = asyncio.get_running_loop()
            await asyncio.sleep(max(0.0, self._batch_started + self._refill - loop.time()))
            if self._server_pid is not None:
                await children_quiet(self._server_pid, within=_QUIET_WAIT)

    async def request(self, sample: Sample) -> None:
        """One streamed answer: TTFC, gaps and total, checked for completeness."""
        start = time.perf_counter()
        async with self._post() as response:
            await _check_status(response)
            texts: list[str] = []
            chunk_times: list[float] = []
            finish: str | None = None
            end: float | None = None
            async with aclosing(sse_stream.events(response)) as stream:
                async for event in stream:
                    if event.done:
                        end = event.at
                        break
                    if event.error is not None:
                        raise SampleFailed(f"error event: {event.error}")
                    if event.content:
                        chunk_times.append(event.at)
                        texts.append(event.content)
                    finish = event.finish_reason or finish
        if end is None:
            raise SampleFailed("the stream ended without [DONE]")
        if finish != "stop":
            raise SampleFailed(f"finish_reason was {finish!r}, not 'stop'")
        check_answer("".join(texts), self._expected)
        sample.set_stream(start, chunk_times, end)

    async def cancel(self, sample: Sample) -> None:
        """Disconnect after the first chunk; time until the serving CLI process exits.

        Run one at a time: the serving CLI is the only pid `/health` lists as serving.
        """
        async with self._post() as response:
            await _check_status(response)
            async with aclosing(sse_stream.events(response)) as stream:
                async for event in stream:
                    if event.error is not None:
                        raise SampleFailed(f"error event: {event.error}")
                    if event.done:
                        raise SampleFailed("the answer ended before the first chunk")
                    if event.content:
                        break
                else:
                    raise SampleFailed("the stream ended before the first chunk")
            pids = (await self.health())["processes"]["serving_pids"]
            if len(pids) != 1:
                raise SampleFailed(f"expected one serving CLI, /health lists {pids}")
            sample.pid = pids[0]
            with ProcessExit(pids[0]) as process:
                if process.exited():
                    raise SampleFailed("the CLI exited before the disconnect (answer too short?)")
                disconnected = time.perf_counter()
                response.close()  # drops the connection, as a client hanging up does
                async with asyncio.timeout(_EXIT_WAIT):
                    exited = await process.wait()
        sample.cancel_ms = (exited - disconnected) * 1000

    def _post(self) -> Any:
        return self._session.post(
            self._root_url("/v1/chat/completions"), json=self._body, headers=self._headers
        )

    def _root_url(self, route: str) -> str:
        base = self._base_url.removesuffix("/v1")
        return base + route


async def _check_status(response: aiohttp.ClientResponse) -> None:
    if response.status != 200:
        body = (await response.text())[:300]
        raise SampleFailed(f"HTTP {response.status}: {body}")
    kind = response.headers.get("Content-Type", "")
    if not kind.startswith("text/event-stream"):
        raise SampleFailed(f"Content-Type was {kind!r}, not an event stream")
