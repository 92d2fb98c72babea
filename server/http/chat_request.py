"""Validate a `/v1/chat/completions` body into a small typed request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.cli.thinking import EFFORTS, Thinking, from_effort
from server.errors import BadRequest
from server.http.json_body import json_object, model_of, text_of
from server.prompt import ROLES, Turn


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What the server needs from a chat completions request."""

    model: str
    turns: list[Turn]
    stream: bool
    include_usage: bool
    thinking: Thinking | None = None  # None: the server's default


def parse_chat_request(body: bytes, *, models: tuple[str, ...], default_model: str) -> ChatRequest:
    """Decode and check the body; raise `BadRequest` naming the offending field."""
    data = json_object(body)
    model = model_of(data, models, default_model)

    stream = data.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise BadRequest("'stream' must be a boolean", param="stream")

    options = data.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise BadRequest("'stream_options' must be an object", param="stream_options")
    include_usage = bool(options and options.get("include_usage"))

    return ChatRequest(
        model=model,
        turns=_parse_messages(data.get("messages")),
        stream=stream,
        include_usage=include_usage,
        thinking=parse_effort(data.get("reasoning_effort"), "reasoning_effort"),
    )


def parse_effort(effort: Any, param: str) -> Thinking | None:
    """An OpenAI reasoning effort (`none` ... `high`, or null for the server's default)."""
    if effort is None:
        return None
    if effort not in EFFORTS:
        raise BadRequest(f"'{param}' must be one of: {', '.join(EFFORTS)}", param=param)
    return from_effort(effort)


def _parse_messages(messages: Any) -> list[Turn]:
    if messages is None:
        raise BadRequest("'messages' is required", param="messages")
    if not isinstance(messages, list):
        raise BadRequest("'messages' must be a list", param="messages")
    if not messages:
        raise BadRequest("'messages' must not be empty", param="messages")
    return [_parse_message(i, m) for i, m in enumerate(messages)]


def _parse_message(index: int, message: Any) -> Turn:
    param = f"messages[{index}]"
    if not isinstance(message, dict):
        raise BadRequest(f"{param} must be an object", param=param)
    role = message.get("role")
    if role is None:
        raise BadRequest(f"{param} has no 'role'", param=f"{param}.role")
    if role not in ROLES:
        raise BadRequest(
            f"{param}.role {role!r} is not supported; use one of: {', '.join(ROLES)}",
            param=f"{param}.role",
        )
    if "content" not in message or message["content"] is None:
        raise BadRequest(f"{param} has no 'content'", param=f"{param}.content")
    return Turn(role, text_of(message["content"], f"{param}.content"))
