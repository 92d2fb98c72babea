"""Turn one line of the CLI's stream-json output into a typed event, or None.

Unknown line types are skipped, never fatal: newer CLIs add types.
"""

from __future__ import annotations

import json
from typing import Any

from server.cli.events import ApiRetry, Event, PlainText, Result, TextDelta, ThinkingDelta, Usage


def parse_line(line: str) -> Event | None:
    """Parse one stdout line (without its newline)."""
    if not line.strip():
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return PlainText(line)
    if not isinstance(message, dict):
        return None
    return parse_message(message)


def parse_message(message: dict[str, Any]) -> Event | None:
    """Parse one decoded stream-json message."""
    kind = message.get("type")
    if kind == "stream_event":
        return _parse_stream_event(message)
    if kind == "result":
        return _parse_result(message)
    if kind == "system" and message.get("subtype") == "api_retry":
        status = message.get("error_status")
        return ApiRetry(
            attempt=_int(message.get("attempt")),
            status=status if isinstance(status, int) else None,
            error=str(message.get("error") or ""),
        )
    return None


def _parse_stream_event(message: dict[str, Any]) -> TextDelta | ThinkingDelta | None:
    # Lines with a parent_tool_use_id belong to a sub-agent, not the main answer.
    if message.get("parent_tool_use_id") is not None:
        return None
    event = message.get("event")
    if not isinstance(event, dict) or event.get("type") != "content_block_delta":
        return None
    delta = event.get("delta")
    if not isinstance(delta, dict):
        return None
    if delta.get("type") == "text_delta":
        text = delta.get("text")
        return TextDelta(text) if isinstance(text, str) and text else None
    if delta.get("type") == "thinking_delta":
        text = delta.get("thinking")
        return ThinkingDelta(text) if isinstance(text, str) and text else None
    return None


def _parse_result(message: dict[str, Any]) -> Result:
    # The real CLI reports upstream failures with subtype "success" and is_error true.
    is_error = bool(message.get("is_error")) or message.get("subtype") not in (None, "success")
    text = message.get("result")
    if not isinstance(text, str):
        errors = message.get("errors")
        text = "; ".join(map(str, errors)) if isinstance(errors, list) else ""
    status = message.get("api_error_status")
    return Result(
        text=text,
        is_error=is_error,
        usage=_parse_usage(message.get("usage")),
        api_error_status=status if isinstance(status, int) else None,
    )


def _parse_usage(usage: Any) -> Usage | None:
    if not isinstance(usage, dict) or "output_tokens" not in usage:
        return None
    prompt = sum(
        _int(usage.get(key))
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=_int(usage.get("output_tokens")),
        cached_tokens=_int(usage.get("cache_read_input_tokens")),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
