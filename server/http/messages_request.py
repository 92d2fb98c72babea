"""Validate an Anthropic Messages (`POST /v1/messages`) body into a small typed request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.cli.thinking import Thinking, from_budget, from_effort
from server.errors import BadRequest
from server.http.json_body import json_object, model_of, text_of
from server.prompt import Turn

# Blocks a client sends back with an assistant turn that carry no text to re-read.
_SKIPPED_BLOCKS = ("thinking", "redacted_thinking")


@dataclass(frozen=True, slots=True)
class MessagesRequest:
    """What the server needs from a Messages request."""

    model: str
    turns: list[Turn]
    stream: bool
    max_tokens: int
    thinking: Thinking | None  # None: the server's default
    stop_sequences: tuple[str, ...]


def parse_messages_request(
    body: bytes, *, models: tuple[str, ...], default_model: str
) -> MessagesRequest:
    """Decode and check the body; raise `BadRequest` naming the offending field."""
    data = json_object(body)
    model = model_of(data, models, default_model, required=True)
    max_tokens = data.get("max_tokens")
    if max_tokens is None:
        raise BadRequest("'max_tokens' is required", param="max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise BadRequest("'max_tokens' must be a positive integer", param="max_tokens")
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("'stream' must be a boolean", param="stream")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest("'metadata' must be an object", param="metadata")
    turns = [Turn("system", text) for text in _system(data.get("system"))]
    turns += _messages(data.get("messages"))
    return MessagesRequest(
        model=model,
        turns=turns,
        stream=stream,
        max_tokens=max_tokens,
        thinking=_thinking(data.get("thinking")),
        stop_sequences=_stop_sequences(data.get("stop_sequences")),
    )


def _system(system: Any) -> list[str]:
    if system is None:
        return []
    if isinstance(system, str):
        return [system] if system else []
    if not isinstance(system, list):
        raise BadRequest("'system' must be a string or a list of text blocks", param="system")
    return [text_of(system, "system", skipped=_SKIPPED_BLOCKS)] if system else []


def _messages(messages: Any) -> list[Turn]:
    if messages is None:
        raise BadRequest("'messages' is required", param="messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list", param="messages")
    turns = []
    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        if not isinstance(message, dict):
            raise BadRequest(f"{param} must be an object", param=param)
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise BadRequest(f"{param}.role must be 'user' or 'assistant'", param=f"{param}.role")
        content = text_of(message.get("content"), f"{param}.content", skipped=_SKIPPED_BLOCKS)
        turns.append(Turn(role, content))
    if turns[-1].role != "user":
        raise BadRequest("the last message must be the user's", param="messages")
    return turns


def _thinking(thinking: Any) -> Thinking | None:
    if thinking is None:
        return None
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "disabled":
        return from_effort("none")
    if kind == "adaptive":
        return from_effort(None)
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1024:
            raise BadRequest(
                "'thinking.budget_tokens' must be an integer of at least 1024",
                param="thinking.budget_tokens",
            )
        return from_budget(budget)
    raise BadRequest(
        '\'thinking\' must be {"type": "enabled", "budget_tokens": N}, '
        '{"type": "adaptive"} or {"type": "disabled"}',
        param="thinking",
    )


def _stop_sequences(stops: Any) -> tuple[str, ...]:
    if stops is None:
        return ()
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise BadRequest(
            "'stop_sequences' must be a list of non-empty strings", param="stop_sequences"
        )
    return tuple(stops)
