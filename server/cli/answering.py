"""An answer: a leased CLI process running the flattened turns, as typed events.

Every route that answers (chat completions, messages, responses) goes through `answering`, so
a kept conversation, the deadlines and the process's end (killed when the block is left
before the answer is over, as when a client hangs up) work the same on each.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass

from server.cli.answer import run_prompt
from server.cli.events import Result, TextDelta, ThinkingDelta
from server.cli.processes import CliProcesses, Lease
from server.cli.thinking import Thinking
from server.prompt import Turn, flatten

Events = AsyncGenerator[TextDelta | ThinkingDelta | Result, None]


@dataclass(frozen=True, slots=True)
class Answering:
    """The answer's events (deltas, then one `Result`) and the pid of the CLI giving it."""

    events: Events
    pid: int


@asynccontextmanager
async def answering(
    processes: CliProcesses,
    model: str,
    turns: list[Turn],
    thinking: Thinking | None,
    first_output: Callable[[float], None] = lambda seconds: None,
) -> AsyncIterator[Answering]:
    """Lease a process for `model` and start it on `turns`, for the `async with` block;
    `first_output` gets the seconds from here to the first text or thinking.

    Raises `Busy` or `CliUnavailable` (from the lease) before anything runs; the events raise
    `CliFailure` when the CLI fails.
    """
    started = time.monotonic()
    async with processes.lease(model, turns, thinking) as lease:
        # A kept process already holds the earlier turns: it is sent only the new ones.
        prompt = flatten(lease.turns)
        run = run_prompt(
            lease.proc,
            prompt,
            processes.deadlines,
            keep_stdin=processes.keeps_conversations,
            replaces_answer=lease.replaces_answer,
            first_output=lambda: first_output(time.monotonic() - started),
        )
        if processes.keeps_conversations:
            run = _noting_the_answer(run, lease)
        yield Answering(run, lease.proc.pid)


async def _noting_the_answer(run: Events, lease: Lease) -> Events:
    """`run`'s events, each text noted in `lease.relayed` as it goes on; once they are all
    read, the `Result`'s text (the whole answer) goes to `lease.answered`, before the caller
    sends the end of the answer on."""
    result: Result | None = None
    async with aclosing(run) as events:
        async for event in events:
            if isinstance(event, Result):
                result = event
            elif isinstance(event, TextDelta):
                lease.relayed.append(event.text)
            yield event
    if result is not None:
        lease.answered(result.text)
