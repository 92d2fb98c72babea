"""A stand-in for Anthropic's Messages API, so the real Claude Code CLI runs with no account.

`POST /v1/messages` with `stream: true` answers with Anthropic's real event sequence
(`message_start`, `content_block_start`, `content_block_delta` text deltas,
`content_block_stop`, `message_delta`, `message_stop`), one text delta every
`token_delay` seconds (the first one too). With `thinking` set, a request that does not
ask for `thinking: disabled` gets a thinking block (thinking deltas and a signature) first.
It records every request and every client that went away before its answer was over.

    python -m harness.fake_anthropic --port 8300 --token-delay-ms 20

then run the CLI with ANTHROPIC_BASE_URL=http://127.0.0.1:8300 ANTHROPIC_API_KEY=anything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MODES = ("normal", "400", "401", "529", "drop")
_ERRORS = {
    400: ("invalid_request_error", "prompt is too long: the fake upstream refuses it"),
    401: ("authentication_error", "invalid x-api-key"),
    529: ("overloaded_error", "Overloaded"),
}


@dataclass
class Upstream:
    """The fake's behaviour (change it between requests) and what it has seen."""

    answer: str = "Paris is the capital of France."
    thinking: str = ""
    token_delay: float = 0.0
    mode: str = "normal"
    requests: list[dict[str, Any]] = field(default_factory=list)
    first_token_sent: list[float] = field(default_factory=list)
    disconnects: int = 0
    completed: int = 0

    def streamed_requests(self) -> list[dict[str, Any]]:
        """The bodies of the streaming `/v1/messages` calls: the CLI's real answers."""
        return [r["body"] for r in self.requests if r["body"].get("stream")]


UPSTREAM = web.AppKey("upstream", Upstream)


def create_app(upstream: Upstream) -> web.Application:
    """The fake API as an aiohttp app; serve it with `handler_cancellation=True`."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[UPSTREAM] = upstream
    app.router.add_post("/v1/messages", _messages)
    return app


def tokens(text: str) -> list[str]:
    """Split an answer into word-sized text deltas, spaces kept with the following word."""
    words = text.split(" ")
    return [words[0]] + [" " + w for w in words[1:]]


async def _messages(request: web.Request) -> web.StreamResponse:
    upstream = request.app[UPSTREAM]
    body = await request.json()
    upstream.requests.append({"headers": dict(request.headers), "body": body})
    if upstream.mode in ("400", "401", "529"):
        status = int(upstream.mode)
        kind, message = _ERRORS[status]
        error = {"type": "error", "error": {"type": kind, "message": message}}
        return web.json_response(error, status=status)
    model = body.get("model", "claude")
    if not body.get("stream"):
        return web.json_response(_message(model, upstream.answer))

    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    try:
        await _stream(response, request, upstream, model, body.get("thinking"))
    except (ConnectionResetError, asyncio.CancelledError):
        upstream.disconnects += 1
        raise
    return response


async def _stream(
    response: web.StreamResponse,
    request: web.Request,
    upstream: Upstream,
    model: str,
    thinking: Any,
) -> None:
    async def send(event: dict[str, Any]) -> None:
        data = json.dumps(event, ensure_ascii=False)
        await response.write(f"event: {event['type']}\ndata: {data}\n\n".encode())

    start = {**_message(model, ""), "content": [], "stop_reason": None}
    await send({"type": "message_start", "message": start})
    index = 0
    if upstream.thinking and thinking != {"type": "disabled"}:
        block = {"type": "thinking", "thinking": "", "signature": ""}
        await send({"type": "content_block_start", "index": 0, "content_block": block})
        for piece in tokens(upstream.thinking):
            if upstream.token_delay:
                await asyncio.sleep(upstream.token_delay)
            delta = {"type": "thinking_delta", "thinking": piece}
            await send({"type": "content_block_delta", "index": 0, "delta": delta})
        delta = {"type": "signature_delta", "signature": "fake-signature"}
        await send({"type": "content_block_delta", "index": 0, "delta": delta})
        await send({"type": "content_block_stop", "index": 0})
        index = 1
    block = {"type": "text", "text": ""}
    await send({"type": "content_block_start", "index": index, "content_block": block})
    pieces = tokens(upstream.answer)
    for i, piece in enumerate(pieces):
        if upstream.token_delay:
            await asyncio.sleep(upstream.token_delay)
        delta = {"type": "text_delta", "text": piece}
        await send({"type": "content_block_delta", "index": index, "delta": delta})
        if i == 0:
            upstream.first_token_sent.append(time.time())
        if upstream.mode == "drop" and i == 1:
            assert request.transport is not None
            request.transport.abort()
            return
    await send({"type": "content_block_stop", "index": index})
    await send(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": len(pieces)},
        }
    )
    await send({"type": "message_stop"})
    upstream.completed += 1


def _message(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": len(tokens(text))},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m harness.fake_anthropic",
        description="A fake Anthropic Messages API for running the real Claude Code CLI with "
        "no account: point ANTHROPIC_BASE_URL at it.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default %(default)s)")
    parser.add_argument("--port", type=int, default=8300, help="port (default %(default)s)")
    parser.add_argument(
        "--token-delay-ms",
        type=float,
        default=20.0,
        help="delay before each text delta, the first included (default %(default)s)",
    )
    parser.add_argument("--answer", default=Upstream.answer, help="the text every answer streams")
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="normal",
        help="normal, an error status (400, 401, 529), or drop the connection "
        "after two deltas (default %(default)s)",
    )
    args = parser.parse_args()
    upstream = Upstream(answer=args.answer, token_delay=args.token_delay_ms / 1000, mode=args.mode)
    print(f"fake Anthropic API on http://{args.host}:{args.port}", flush=True)
    web.run_app(
        create_app(upstream), host=args.host, port=args.port, print=None, handler_cancellation=True
    )


if __name__ == "__main__":
    main()
