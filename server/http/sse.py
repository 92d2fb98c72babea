"""Server-sent events framing: `data:`-only events (chat completions) and typed ones."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # tells nginx-style proxies not to buffer the stream
}
DONE = b"data: [DONE]\n\n"


def encode(payload: dict[str, Any]) -> bytes:
    """One `data:` event carrying a JSON payload."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return b"data: " + data.encode() + b"\n\n"


def typed(kind: str, data: str) -> bytes:
    """One event with an `event:` line naming its type, carrying `data` (JSON)."""
    return f"event: {kind}\ndata: {data}\n\n".encode()


async def open_stream(request: web.Request) -> web.StreamResponse:
    """Send the headers of an event stream and return it for writing."""
    response = web.StreamResponse(status=200, headers=HEADERS)
    await response.prepare(request)
    return response
