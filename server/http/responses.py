"""The `/v1/responses` handlers (OpenAI Responses): create (plain, streamed, or in the
background), retrieve (with a replay of its events), and cancel."""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress

from aiohttp import web

from server.errors import BadRequest, NotFound
from server.http import sse
from server.http.json_body import read_body
from server.http.state import METRICS, PROCESSES, RESPONSES, SETTINGS
from server.responses.request import parse_responses_request
from server.responses.run import Run
from server.responses.store import FINISHED

log = logging.getLogger(__name__)

# How often a client following a response that another server runs checks the store.
_POLL_EVERY = 0.5


async def create_response(request: web.Request) -> web.StreamResponse:
    """`POST /v1/responses`."""
    settings = request.app[SETTINGS]
    body = await read_body(request, settings.max_body_bytes)
    req = parse_responses_request(
        body, models=settings.models, default_model=settings.default_model
    )
    responses = request.app[RESPONSES]
    store = await responses.store() if req.store else None
    run = Run(req, store, responses.owner)
    await run.begin()
    run.task = asyncio.create_task(
        run.execute(request.app[PROCESSES], request.app[METRICS].first_token_of("/v1/responses")),
        name=f"response-{run.id}",
    )
    responses.track(run)
    if req.background:
        if req.stream:
            return await _stream(request, run.follow())
        return web.json_response(run.output.response())
    try:
        if req.stream:
            return await _stream(request, run.follow())
        await asyncio.shield(run.task)
    finally:
        # Not in the background: the client hanging up ends the run and its CLI at once.
        if not run.task.done():
            run.task.cancel()
    if run.failure is not None:
        raise run.failure
    return web.json_response(run.output.response())


async def get_response(request: web.Request) -> web.StreamResponse:
    """`GET /v1/responses/{id}`, with `?stream=true&starting_after=N` a replay of its events
    after N that follows the live ones."""
    id = request.match_info["id"]
    stream = request.query.get("stream", "false")
    if stream not in ("true", "false"):
        raise BadRequest("'stream' must be true or false", param="stream")
    after = _starting_after(request.query.get("starting_after"))
    responses = request.app[RESPONSES]
    run = responses.runs.get(id)
    if run is not None:
        if stream == "true":
            return await _stream(request, run.follow(after))
        return web.json_response(run.output.response())
    stored = await _stored(request, id)
    if stream == "false":
        return web.json_response(stored[0])
    return await _stream(request, _replay(request, id, after))


async def cancel_response(request: web.Request) -> web.Response:
    """`POST /v1/responses/{id}/cancel`: a background run stops (its CLI killed) and is stored
    as cancelled with what it had said; a finished one is returned unchanged."""
    id = request.match_info["id"]
    responses = request.app[RESPONSES]
    run = responses.runs.get(id)
    if run is not None:
        if not run.request.background:
            raise BadRequest("only a background response can be cancelled")
        await responses.cancel(run)
    response, _ = await _stored(request, id)
    if not response.get("background"):
        raise BadRequest("only a background response can be cancelled")
    if response["status"] not in FINISHED:
        # Another server runs it: stored as cancelled now, its own end will not overwrite it.
        store = await responses.store()
        await store.finish({**response, "status": "cancelled"}, [])
        response, _ = await _stored(request, id)
    return web.json_response(response)


async def _stored(request: web.Request, id: str) -> tuple[dict, list | None]:
    found = await (await request.app[RESPONSES].store()).get(id)
    if found is None:
        raise NotFound(f"no response with id {id!r}", param="id")
    return found


async def _replay(request: web.Request, id: str, after: int):
    """A stored response's events after `after`, once it is over (polling while another
    server runs it)."""
    while True:
        response, events = await _stored(request, id)
        if events is not None and response["status"] in FINISHED:
            break
        await asyncio.sleep(_POLL_EVERY)
    for event in events[after + 1 :]:
        yield event["type"], json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def _starting_after(value: str | None) -> int:
    if value is None:
        return -1
    try:
        after = int(value)
    except ValueError:
        raise BadRequest("'starting_after' must be an integer", param="starting_after") from None
    if after < -1:
        raise BadRequest("'starting_after' must be -1 or more", param="starting_after")
    return after


async def _stream(request: web.Request, events) -> web.StreamResponse:
    """Send each event (its JSON) as `event: <type>` and `data:`, until the run ends."""
    response = await sse.open_stream(request)
    with suppress(ConnectionResetError):
        async for kind, data in events:
            await response.write(sse.typed(kind, data))
        await response.write_eof()
    return response
