"""Run one prompt through one CLI process and yield its answer as typed events.

Owns the rules that turn CLI behaviour into success or `CliFailure`: the first-token and
stall deadlines, `is_error` results, non-zero exits, and over-long lines.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass

from server.cli.command import stdin_message
from server.cli.events import ApiRetry, PlainText, Result, TextDelta, ThinkingDelta
from server.cli.line_framer import LineTooLong
from server.cli.parser import parse_line
from server.cli.process import CliProcess
from server.errors import CliFailure, CliTimeout

log = logging.getLogger(__name__)

# How long a CLI that closed its stdout may take to exit before that counts as a failure.
_EXIT_WAIT = 5.0


@dataclass(frozen=True, slots=True)
class Deadlines:
    """How long a CLI may stay silent: before its first text, and between texts after it."""

    first_token: float
    stall: float


async def run_prompt(
    proc: CliProcess,
    prompt: str,
    deadlines: Deadlines,
    *,
    keep_stdin: bool = False,
    replaces_answer: bool = False,
    first_output: Callable[[], None] = lambda: None,
) -> AsyncGenerator[TextDelta | ThinkingDelta | Result, None]:
    """Send `prompt` to `proc` and yield text and thinking deltas, then one `Result`. With
    `keep_stdin`, stdin stays open for the conversation's next message; `replaces_answer`
    (a kept local CLI) has the prompt replace the conversation's last answer; `first_output`
    is called as the first delta comes. Thinking counts as output for the deadlines: a model
    that thinks for a minute has not stalled.

    Non-JSON lines are not relayed; when the CLI printed nothing else, the `Result` carries
    them as its text.

    Raises `CliFailure` (or `CliTimeout`) when the CLI fails; the caller owns `proc` and ends it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadlines.first_token
    try:
        async with asyncio.timeout_at(deadline):
            message = stdin_message(prompt, replaces_answer=replaces_answer)
            await proc.send(message, close=not keep_stdin)
    except TimeoutError:
        raise CliTimeout("the CLI did not read its prompt within the first-token timeout") from None
    seen_text = False
    last_retry: ApiRetry | None = None
    plain: list[str] = []
    streamed: list[str] = []
    async with aclosing(proc.lines()) as lines:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    line = await anext(lines)
            except StopAsyncIteration:
                break
            except TimeoutError:
                if seen_text:
                    raise CliTimeout(
                        f"the CLI stalled mid-answer: no text for {deadlines.stall:g} s",
                        code="stall_timeout",
                    ) from None
                raise CliTimeout(_timeout_message(deadlines.first_token, last_retry)) from None
            except LineTooLong as e:
                raise CliFailure(str(e), code="cli_output_too_long") from e
            event = parse_line(line)
            if isinstance(event, TextDelta | ThinkingDelta):
                if not seen_text:
                    seen_text = True
                    first_output()
                if isinstance(event, TextDelta):
                    streamed.append(event.text)
                yield event
                # From here, not from the read: a client slow to take the text is no stall.
                deadline = loop.time() + deadlines.stall
            elif isinstance(event, Result):
                if event.is_error:
                    raise CliFailure(_result_error_message(event))
                if rest := _unstreamed_rest(event.text, "".join(streamed), proc.pid):
                    yield TextDelta(rest)
                yield event
                return
            elif isinstance(event, ApiRetry):
                last_retry = event
                log.warning("CLI pid %d retrying upstream: %s", proc.pid, event)
            elif isinstance(event, PlainText):
                plain.append(event.text)
    yield await _result_at_exit(proc, plain)


async def _result_at_exit(proc: CliProcess, plain: list[str]) -> Result:
    """The CLI closed stdout with no `result` line: its exit code decides."""
    try:
        async with asyncio.timeout(_EXIT_WAIT):
            code = await proc.wait()
    except TimeoutError:
        raise CliFailure("the CLI closed its output but did not exit") from None
    if code != 0:
        detail = proc.stderr_tail or "\n".join(plain[-5:]) or "no output"
        raise CliFailure(f"the CLI exited with code {code} before finishing: {detail}")
    return Result(text="\n".join(plain), is_error=False, usage=None)


def _unstreamed_rest(final: str, streamed: str, pid: int) -> str:
    """The end of the answer that was never streamed as deltas.

    When an upstream stream breaks mid-answer, the real CLI retries without streaming and
    reports the whole answer only in its `result`; the caller must still get all of it.
    A CLI that streamed nothing at all gives its whole answer this way.
    """
    if len(final) <= len(streamed):
        return ""
    if not final.startswith(streamed):
        log.warning("CLI pid %d: final answer differs from the streamed text; keeping that", pid)
        return ""
    return final[len(streamed) :]


def _result_error_message(result: Result) -> str:
    status = f" (upstream status {result.api_error_status})" if result.api_error_status else ""
    return f"the CLI reported an error{status}: {result.text or 'no details'}"


def _timeout_message(timeout: float, retry: ApiRetry | None) -> str:
    message = f"the CLI gave no text within the first-token timeout of {timeout:g} s"
    if retry is not None:
        message += f"; it was retrying an upstream error ({retry.status} {retry.error})"
    return message
