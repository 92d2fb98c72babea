"""`run_prompt` over a real fake-CLI process: the rules that make an answer or a failure."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from server.cli.answer import Deadlines, run_prompt
from server.cli.command import build_argv
from server.cli.events import Result, TextDelta
from server.cli.process import CliProcess
from server.errors import CliFailure, CliTimeout
from server.settings import cli_environment

DEADLINES = Deadlines(first_token=5.0, stall=5.0)


@pytest.fixture
async def answer(fake_cli: Path):
    """`answer(mode, deadlines)`: every event `run_prompt` yields, and the error it raised."""
    started: list[CliProcess] = []

    async def run(mode: str, deadlines: Deadlines = DEADLINES, pause: float = 0.0, **fake: str):
        env = {**cli_environment(os.environ), "FAKE_CLI_MODE": mode, **fake}
        proc = await CliProcess.start(
            build_argv((str(fake_cli),), "sonnet"), env=env, max_line_bytes=1 << 20
        )
        started.append(proc)
        events, error = [], None
        try:
            async for event in run_prompt(proc, "What is the capital of France?", deadlines):
                events.append(event)
                await asyncio.sleep(pause)  # a client slow to take each piece
        except CliFailure as e:
            error = e
        return events, error

    yield run
    for proc in started:
        proc.signal(signal.SIGKILL)
        await proc.close(0.05)


def text(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_deltas_then_one_result(answer):
    events, error = await answer("normal")
    assert error is None
    assert text(events) == "Paris is the capital of France."
    assert isinstance(events[-1], Result) and events[-1].usage.prompt_tokens == 15


async def test_the_part_only_the_result_carries_is_yielded_too(answer):
    events, _ = await answer("truncated")
    assert [e.text for e in events if isinstance(e, TextDelta)][-1] == " the capital of France."
    assert text(events) == "Paris is the capital of France."


async def test_a_stall_after_the_first_text_is_a_stall_timeout(answer):
    events, error = await answer("stall", Deadlines(first_token=5.0, stall=0.2))
    assert text(events) == "Paris is"
    assert isinstance(error, CliTimeout) and error.code == "stall_timeout"
    assert error.status == 504


async def test_a_slow_client_is_not_a_stalled_cli(answer):
    # A word every 1.0 s; the client takes 0.8 s over each. Counted from the read, the 0.6 s
    # stall deadline would pass while the client was busy; counted from when it asks again,
    # the CLI is never silent for more than 0.2 s of it.
    deadlines = Deadlines(first_token=5.0, stall=0.6)
    fake = {"FAKE_CLI_DELAY": "1.0", "FAKE_CLI_ANSWER": "Paris is here."}
    events, error = await answer("normal", deadlines, pause=0.8, **fake)
    assert error is None and text(events) == "Paris is here."


async def test_silence_before_any_text_is_a_first_token_timeout(answer):
    events, error = await answer("retry", Deadlines(first_token=0.5, stall=60.0))
    assert events == []
    assert isinstance(error, CliTimeout) and error.code == "first_token_timeout"
    assert "401 authentication_failed" in error.message


async def test_an_error_result_and_a_crash_are_failures(answer):
    _, error = await answer("error")
    assert error.code == "cli_error" and "(upstream status 400)" in error.message
    events, error = await answer("crash")
    assert text(events) == "Paris is"
    assert "exited with code 3" in error.message and "segmentation fault" in error.message


async def test_plain_text_becomes_the_result_when_nothing_else_came(answer):
    events, error = await answer("plain")
    assert error is None
    assert events == [
        Result(text="plain text answer line one\nline two", is_error=False, usage=None)
    ]
