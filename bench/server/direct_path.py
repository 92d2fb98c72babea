"""The direct path: the same CLI, spawned per request exactly as the server would, no HTTP.

It reuses the server's own process layer (`CliProcess`), argv (`build_argv`), prompt
(`flatten` + `stdin_message`) and parser, so the difference to the cold path is what the
server adds.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Mapping
from contextlib import aclosing

from bench.server.process_exit import ProcessExit
from bench.server.samples import Sample, SampleFailed, check_answer
from server.cli.command import build_argv, stdin_message
from server.cli.events import Result, TextDelta
from server.cli.parser import parse_line
from server.cli.process import CliProcess
from server.prompt import Turn, flatten
from server.settings import Settings

_EXIT_WAIT = 10.0


class DirectPath:
    """Spawns `command` + the server's flags for each request and reads its stdout.

    With `prestart` seconds it is the `prestarted` path instead: each process is spawned that
    long before its prompt is sent, and times start at the send, as for a warm process.
    """

    def __init__(
        self,
        command: tuple[str, ...],
        model: str,
        *,
        env: Mapping[str, str],
        prompt: str,
        expected: str | None,
        prestart: float = 0.0,
    ):
        self.name = "prestarted" if prestart else "direct"
        self.argv = build_argv(command, model)
        self._prestart = prestart
        self._env = dict(env)
        self._message = stdin_message(flatten([Turn("user", prompt)]))
        self._expected = expected
        defaults = Settings()
        self._max_line_bytes = defaults.max_line_bytes
        self._kill_grace = defaults.kill_grace  # the server's SIGTERM-to-SIGKILL grace

    async def before_batch(self, count: int) -> None:
        """Nothing to pace: every request spawns its own process."""

    async def after_batch(self) -> None:
        """Nothing to wait for: each process was ended with its request."""

    async def request(self, sample: Sample) -> None:
        """Spawn, send the prompt, read to the `result` line: TTFC, gaps and total."""
        start = time.perf_counter()
        proc = await CliProcess.start(self.argv, env=self._env, max_line_bytes=self._max_line_bytes)
        sample.pid = proc.pid
        try:
            if self._prestart:
                await asyncio.sleep(self._prestart)
                start = time.perf_counter()
            await proc.send(self._message)
            texts: list[str] = []
            chunk_times: list[float] = []
            result: Result | None = None
            async with aclosing(proc.lines()) as lines:
                async for line in lines:
                    event = parse_line(line)
                    if isinstance(event, TextDelta):
                        chunk_times.append(time.perf_counter())
                        texts.append(event.text)
                    elif isinstance(event, Result):
                        result = event
                        break
            end = time.perf_counter()
        finally:
            await proc.close(self._kill_grace)
        if result is None:
            raise SampleFailed(f"no result line; exit {proc.returncode}: {proc.stderr_tail}")
        if result.is_error:
            raise SampleFailed(f"the CLI reported an error: {result.text}")
        check_answer("".join(texts), self._expected)
        sample.set_stream(start, chunk_times, end)

    async def cancel(self, sample: Sample) -> None:
        """After the first text delta, SIGTERM the process group (as the server does); time
        until the process exits, with SIGKILL after the server's grace period."""
        proc = await CliProcess.start(self.argv, env=self._env, max_line_bytes=self._max_line_bytes)
        sample.pid = proc.pid
        try:
            with ProcessExit(proc.pid) as process:
                await asyncio.sleep(self._prestart)
                await proc.send(self._message)
                async with aclosing(proc.lines()) as lines:
                    async for line in lines:
                        event = parse_line(line)
                        if isinstance(event, Result):
                            raise SampleFailed("the answer ended before the first text delta")
                        if isinstance(event, TextDelta):
                            break
                    else:
                        raise SampleFailed("the CLI closed its output before any text")
                if process.exited():
                    raise SampleFailed("the CLI exited before SIGTERM (answer too short?)")
                signalled = time.perf_counter()
                proc.signal(signal.SIGTERM)
                try:
                    async with asyncio.timeout(self._kill_grace):
                        exited = await process.wait()
                except TimeoutError:
                    proc.signal(signal.SIGKILL)
                    async with asyncio.timeout(_EXIT_WAIT):
                        exited = await process.wait()
        finally:
            await proc.close(self._kill_grace)
        sample.cancel_ms = (exited - signalled) * 1000
