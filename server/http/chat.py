"""The `/v1/chat/completions` handler: validate, run the CLI, relay its answer."""

from __future__ import annotations

import logging
from contextlib import aclosing

from aiohttp import web

from server.cli.answering import Events, answering
from server.cli.events import Result, TextDelta, ThinkingDelta
from server.errors import CliFailure
from server.http import sse
from server.http.chat_request import ChatRequest, parse_chat_request
from server.http.json_body import read_body
from server.http.openai_format import CompletionIds, reasoning
from server.http.state import METRICS, PROCESSES, SETTINGS

log = logging.getLogger(__name__)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """`POST /v1/chat/completions`, streaming or not."""
    settings = request.app[SETTINGS]
    body = await read_body(request, settings.max_body_bytes)
    chat = parse_chat_request(body, models=settings.models, default_model=settings.default_model)
    async with answering(
        request.app[PROCESSES],
        chat.model,
        chat.turns,
        chat.thinking,
        request.app[METRICS].first_token_of("/v1/chat/completions"),
    ) as answer:
        if chat.stream:
            return await _stream(request, answer.events, answer.pid, chat)
        return await _complete(answer.events, chat)


async def _complete(run: Events, chat: ChatRequest) -> web.Response:
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
    request: web.Request, run: Events, pid: int, chat: ChatRequest
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
