"""The `/v1/chat/completions` handler: validate, run the CLI, relay its answer."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing

from aiohttp import web

from server.cli.answer import Deadlines, run_prompt
from server.cli.events import Result, TextDelta, ThinkingDelta
from server.cli.processes import Lease
from server.errors import BadRequest, CliFailure
from server.http import sse
from server.http.chat_request import ChatRequest, parse_chat_request
from server.http.openai_format import CompletionIds, reasoning
from server.http.state import PROCESSES, SETTINGS
from server.prompt import flatten

log = logging.getLogger(__name__)

Answer = AsyncGenerator[TextDelta | ThinkingDelta | Result, None]


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """`POST /v1/chat/completions`, streaming or not."""
    settings = request.app[SETTINGS]
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BadRequest(
            f"request body exceeds {settings.max_body_bytes} bytes", code="request_too_large"
        ) from None
    chat = parse_chat_request(body, models=settings.models, default_model=settings.default_model)
    deadlines = Deadlines(first_token=settings.first_token_timeout, stall=settings.stall_timeout)
    processes = request.app[PROCESSES]
    async with processes.lease(chat.model, chat.turns, chat.thinking) as lease:
        # A kept process already holds the earlier turns: it is sent only the new ones.
        prompt = flatten(lease.turns)
        run = run_prompt(lease.proc, prompt, deadlines, keep_stdin=processes.keeps_conversations)
        if processes.keeps_conversations:
            run = _noting_the_answer(run, lease)
        if chat.stream:
            return await _stream(request, run, lease.proc.pid, chat)
        return await _complete(run, chat)


async def _noting_the_answer(run: Answer, lease: Lease) -> Answer:
    """`run`'s events, setting `lease.answer` from the `Result` (the whole answer's text)."""
    async with aclosing(run) as events:
        async for event in events:
            if isinstance(event, Result):
                lease.answer = event.text
            yield event


async def _complete(run: Answer, chat: ChatRequest) -> web.Response:
    texts: list[str] = []
    thoughts: list[str] = []
    result: Result | None = None
    async with aclosing(run) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                texts.append(event.text)
            elif isinstance(event, ThinkingDelta):
                thoughts.append(event.text)
            elif isinstance(event, Result):
                result = event
    assert result is not None
    content = "".join(texts) or result.text
    completion = CompletionIds(chat.model).completion(content, result.usage, "".join(thoughts))
    return web.json_response(completion)


async def _stream(
    request: web.Request, run: Answer, pid: int, chat: ChatRequest
) -> web.StreamResponse:
    ids = CompletionIds(chat.model)
    response = await sse.open_stream(request)
    result: Result | None = None
    # The role rides on the first text, so a client's time-to-first-chunk is the time to the
    # first word (Pipecat's TTFB metric reads it), not to the headers.
    first: dict[str, str] = {"role": "assistant"}
    try:
        try:
            async with aclosing(run) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        delta = {**first, "content": event.text}
                    elif isinstance(event, ThinkingDelta):
                        delta = {**first, **reasoning(event.text)}
                    else:
                        result = event
                        continue
                    await response.write(sse.encode(ids.chunk(delta)))
                    first = {}
        except CliFailure as e:
            log.warning("stream %s failed: %s", ids.id, e.message)
            await response.write(sse.encode(e.envelope()))
            return response
        if first:
            await response.write(sse.encode(ids.chunk(first)))
        await response.write(sse.encode(ids.chunk({}, finish_reason="stop")))
        if chat.include_usage:
            await response.write(sse.encode(ids.usage_chunk(result.usage if result else None)))
        await response.write(sse.DONE)
        await response.write_eof()
    except ConnectionResetError:
        log.info("client went away during stream %s; CLI pid %d ended", ids.id, pid)
    return response
