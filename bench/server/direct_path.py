"""The direct path: the same CLI, spawned per request exactly as the server would, no HTTP.

It reuses the server's own process layer (`CliProcess`), argv (`build_argv`), prompt
(`flatten`) and answer reading (`run_prompt`: the parser, deadlines and failure rules), so
the difference to the cold path is what the server adds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from contextlib import aclosing

from bench.server.process_exit import ProcessExit
from bench.server.samples import Sample, SampleFailed, check_answer
from server.cli.answer import Deadlines, run_prompt
from server.cli.command import build_argv
from server.cli.events import Result, TextDelta
from server.cli.process import CliProcess
from server.errors import CliFailure
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
        self._prompt = flatten([Turn("user", prompt)])
        self._expected = expected
        defaults = Settings()
        self._max_line_bytes = defaults.max_line_bytes
        self._kill_grace = defaults.kill_grace  # the server's SIGTERM-to-SIGKILL grace
        self._deadlines = Deadlines(defaults.first_token_timeout, defaults.stall_timeout)

    async def before_batch(self, count: int) -> None:
        """Nothing to pace: every request spawns its own process."""

    async def after_batch(self) -> None:
        """Nothing to wait for: each process was ended with its request."""

    async def request(self, sample: Sample) -> None:
        """Spawn, send the prompt, read the answer as the server does: TTFC, gaps and total."""
        start = time.perf_counter()
        proc = await self._spawn(sample)
        try:
            if self._prestart:
                await asyncio.sleep(self._prestart)
                start = time.perf_counter()
            texts: list[str] = []
            chunk_times: list[float] = []
            async with aclosing(run_prompt(proc, self._prompt, self._deadlines)) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        chunk_times.append(time.perf_counter())
                        texts.append(event.text)
            end = time.perf_counter()
        except CliFailure as e:
            raise SampleFailed(f"the CLI failed: {e.message}") from e
        finally:
            await proc.close(self._kill_grace)
        check_answer("".join(texts), self._expected)
        sample.set_stream(start, chunk_times, end)

    async def cancel(self, sample: Sample) -> None:
        """After the first text delta, end the CLI as the server ends one whose caller hung
        up (`CliProcess.close`: SIGTERM, SIGKILL after its grace); time until it exits."""
        proc = await self._spawn(sample)
        closing: asyncio.Task[None] | None = None
        try:
            with ProcessExit(proc.pid) as process:
                await asyncio.sleep(self._prestart)
                async with aclosing(run_prompt(proc, self._prompt, self._deadlines)) as events:
                    async for event in events:
                        if isinstance(event, Result):
                            raise SampleFailed("the answer ended before the first text delta")
                        break
                if process.exited():
                    raise SampleFailed("the CLI exited before SIGTERM (answer too short?)")
                signalled = time.perf_counter()
                closing = asyncio.create_task(proc.close(self._kill_grace))
                async with asyncio.timeout(_EXIT_WAIT):
                    exited = await process.wait()
        except CliFailure as e:
            raise SampleFailed(f"the CLI failed: {e.message}") from e
        finally:
            await (closing if closing is not None else proc.close(self._kill_grace))
        sample.cancel_ms = (exited - signalled) * 1000

    async def _spawn(self, sample: Sample) -> CliProcess:
        proc = await CliProcess.start(self.argv, env=self._env, max_line_bytes=self._max_line_bytes)
        sample.pid = proc.pid
        return proc
