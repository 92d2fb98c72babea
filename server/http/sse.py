"""Server-sent events framing for OpenAI-style streams."""

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


async def open_stream(request: web.Request) -> web.StreamResponse:
    """Send the headers of an event stream and return it for writing."""
    response = web.StreamResponse(status=200, headers=HEADERS)
    await response.prepare(request)
    return response
