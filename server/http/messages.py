"""The `/v1/messages` handler (Anthropic Messages): validate, run the CLI, answer in
Anthropic's shapes, streaming or not."""

from __future__ import annotations

import asyncio
import logging
from contextlib import aclosing, suppress

from aiohttp import web

from server.cli.answering import Events, answering
from server.cli.events import Result, TextDelta, ThinkingDelta
from server.errors import CliFailure
from server.http import anthropic_format as fmt
from server.http import sse
from server.http.json_body import read_body
from server.http.messages_request import MessagesRequest, parse_messages_request
from server.http.state import METRICS, PROCESSES, SETTINGS
from server.http.stop_sequences import StopSequences

log = logging.getLogger(__name__)

# A stream silent this long (a model thinking, say) gets a `ping` event, so proxies and
# clients with read timeouts keep it open.
PING_EVERY = 10.0


async def messages(request: web.Request) -> web.StreamResponse:
    """`POST /v1/messages`."""
    settings = request.app[SETTINGS]
    body = await read_body(request, settings.max_body_bytes)
    req = parse_messages_request(body, models=settings.models, default_model=settings.default_model)
    async with answering(
        request.app[PROCESSES],
        req.model,
        req.turns,
        req.thinking,
        request.app[METRICS].first_token_of("/v1/messages"),
    ) as answer:
        if req.stream:
            return await _stream(request, answer.events, req)
        return await _complete(answer.events, req)


async def _complete(run: Events, req: MessagesRequest) -> web.Response:
    stops = StopSequences(req.stop_sequences)
    texts: list[str] = []
    thoughts: list[str] = []
    result: Result | None = None
    async with aclosing(run) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                texts.append(stops.push(event.text))
                if stops.hit:
                    break  # leaving ends the CLI: nothing after a stop sequence is wanted
            elif isinstance(event, ThinkingDelta):
                thoughts.append(event.text)
            elif isinstance(event, Result):
                result = event
    texts.append(stops.flush())
    text = "".join(texts)
    if not text and result is not None and not stops.hit:
        text = result.text
    message = fmt.message(
        fmt.message_id(),
        req.model,
        fmt.content("".join(thoughts), text),
        stop_reason="stop_sequence" if stops.hit else "end_turn",
        stop_sequence=stops.hit,
        usage=result.usage if result else None,
    )
    return web.json_response(message)


async def _stream(request: web.Request, run: Events, req: MessagesRequest) -> web.StreamResponse:
    response = await sse.open_stream(request)
    id = fmt.message_id()

    async def send(*events: dict) -> None:
        await response.write(b"".join(map(fmt.encode, events)))

    start = fmt.message(id, req.model, [], stop_reason=None)
    pinger = asyncio.create_task(_ping(response))
    try:
        await send({"type": "message_start", "message": start})
        await response.write(fmt.PING)
        await _relay(run, req, send)
        await response.write_eof()
    except CliFailure as e:
        log.warning("message stream %s failed: %s", id, e.message)
        with suppress(ConnectionResetError):
            await send(fmt.error_envelope(fmt.error_type(e.status), e.message))
    except ConnectionResetError:
        log.info("client went away during message stream %s; its CLI ended", id)
    finally:
        pinger.cancel()
    return response


async def _relay(run: Events, req: MessagesRequest, send) -> None:
    """The answer's events as content blocks, then `message_delta` and `message_stop`."""
    blocks = fmt.Blocks()
    stops = StopSequences(req.stop_sequences)
    result: Result | None = None
    async with aclosing(run) as events:
        async for event in events:
            if isinstance(event, ThinkingDelta):
                await send(*blocks.delta("thinking", event.text))
            elif isinstance(event, TextDelta):
                if text := stops.push(event.text):
                    await send(*blocks.delta("text", text))
                if stops.hit:
                    break  # leaving ends the CLI: nothing after a stop sequence is wanted
            else:
                result = event
    if rest := stops.flush():
        await send(*blocks.delta("text", rest))
    if "text" not in blocks.kinds:
        await send(*blocks.delta("text", ""))
    delta = {
        "stop_reason": "stop_sequence" if stops.hit else "end_turn",
        "stop_sequence": stops.hit,
    }
    usage = fmt.usage_dict(result.usage if result else None)
    await send(
        *blocks.close(),
        {"type": "message_delta", "delta": delta, "usage": usage},
        {"type": "message_stop"},
    )


async def _ping(response: web.StreamResponse) -> None:
    with suppress(ConnectionResetError):
        while True:
            await asyncio.sleep(PING_EVERY)
            await response.write(fmt.PING)
