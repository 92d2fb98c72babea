"""Anthropic's Messages shapes: the message, its usage, stream events with their `event:`
lines, and the content blocks a stream opens and closes as thinking and text arrive.

The stream is built from the CLI's typed deltas rather than relayed line for line: the local
CLI prints no block boundaries, and when an upstream stream breaks the real CLI finishes the
answer only in its `result`, so a relayed stream would be malformed or short.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from server.cli.events import Usage

# Sent as the signature of a thinking block: the CLI does not pass the upstream's on, and
# a thinking block sent back in a later request is skipped, never checked.
NO_SIGNATURE = ""


def message_id() -> str:
    """A new id in Anthropic's `msg_` form."""
    return f"msg_{uuid.uuid4().hex}"


def usage_dict(usage: Usage | None) -> dict[str, int]:
    """Anthropic's `usage`: input tokens read afresh and from the cache, and output tokens."""
    usage = usage or Usage(0, 0)
    return {
        "input_tokens": usage.prompt_tokens - usage.cached_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": usage.completion_tokens,
    }


def message(
    id: str,
    model: str,
    content: list[dict[str, Any]],
    *,
    stop_reason: str | None,
    stop_sequence: str | None = None,
    usage: Usage | None = None,
) -> dict[str, Any]:
    """A `message` object."""
    return {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage_dict(usage),
    }


def content(thinking: str, text: str) -> list[dict[str, Any]]:
    """A whole answer's content blocks: its thinking, if any, then its text."""
    blocks: list[dict[str, Any]] = []
    if thinking:
        blocks.append({"type": "thinking", "thinking": thinking, "signature": NO_SIGNATURE})
    blocks.append({"type": "text", "text": text})
    return blocks


def encode(payload: dict[str, Any]) -> bytes:
    """One stream event: its `event:` line (the SDK dispatches on it) and its `data:`."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"event: {payload['type']}\ndata: {data}\n\n".encode()


PING = encode({"type": "ping"})


class Blocks:
    """Content blocks of a streamed message: each delta opens the block it belongs in
    (closing the one before) and `close` ends the last."""

    def __init__(self) -> None:
        self._index = -1
        self._open: str | None = None
        self.kinds: list[str] = []  # of every block opened, in order

    def delta(self, kind: str, text: str) -> list[dict[str, Any]]:
        """The events for a `thinking` or `text` delta."""
        events = []
        if self._open != kind:
            events += self.close()
            self._index += 1
            self._open = kind
            self.kinds.append(kind)
            block = (
                {"type": "thinking", "thinking": "", "signature": ""}
                if kind == "thinking"
                else {"type": "text", "text": ""}
            )
            events.append(
                {"type": "content_block_start", "index": self._index, "content_block": block}
            )
        delta = (
            {"type": "thinking_delta", "thinking": text}
            if kind == "thinking"
            else {"type": "text_delta", "text": text}
        )
        events.append({"type": "content_block_delta", "index": self._index, "delta": delta})
        return events

    def close(self) -> list[dict[str, Any]]:
        """The events that end the open block (a thinking block with its signature)."""
        if self._open is None:
            return []
        events = []
        if self._open == "thinking":
            delta = {"type": "signature_delta", "signature": NO_SIGNATURE}
            events.append({"type": "content_block_delta", "index": self._index, "delta": delta})
        events.append({"type": "content_block_stop", "index": self._index})
        self._open = None
        return events


def error_envelope(kind: str, message: str) -> dict[str, Any]:
    """Anthropic's error body: `{"type": "error", "error": {"type", "message"}}`."""
    return {"type": "error", "error": {"type": kind, "message": message}}


def error_type(status: int) -> str:
    """Anthropic's error type for an HTTP status."""
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
    }.get(status, "api_error")
