"""Validate an OpenAI Responses (`POST /v1/responses`) body into a small typed request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.cli.thinking import Thinking
from server.errors import BadRequest
from server.http.chat_request import parse_effort
from server.http.json_body import json_object, model_of, text_of
from server.prompt import ROLES, Turn

_TEXT_PARTS = ("input_text", "output_text", "text")
_SKIPPED_ITEMS = ("reasoning",)


@dataclass(frozen=True, slots=True)
class ResponsesRequest:
    """What the server needs from a Responses request."""

    model: str
    turns: list[Turn]
    instructions: str | None
    stream: bool
    background: bool
    store: bool
    thinking: Thinking | None  # None: the server's default
    effort: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


def parse_responses_request(
    body: bytes, *, models: tuple[str, ...], default_model: str
) -> ResponsesRequest:
    """Decode and check the body; raise `BadRequest` naming the offending field."""
    data = json_object(body)
    model = model_of(data, models, default_model)
    flags = {name: _bool(data, name, default) for name, default in _FLAGS}
    if flags["background"] and not flags["store"]:
        raise BadRequest("a background response must be stored: drop 'store': false", param="store")
    for unsupported in ("previous_response_id", "conversation"):
        if data.get(unsupported) is not None:
            raise BadRequest(
                f"'{unsupported}' is not supported: send the whole conversation as 'input'",
                param=unsupported,
            )
    if data.get("tools"):
        raise BadRequest("tools are not supported", param="tools")
    instructions = data.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise BadRequest("'instructions' must be a string", param="instructions")
    reasoning = data.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, dict):
        raise BadRequest("'reasoning' must be an object", param="reasoning")
    effort = (reasoning or {}).get("effort")
    metadata = data.get("metadata")
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        raise BadRequest("'metadata' must be an object of strings", param="metadata")
    turns = [Turn("system", instructions)] if instructions else []
    turns += _input(data.get("input"))
    return ResponsesRequest(
        model=model,
        turns=turns,
        instructions=instructions,
        thinking=parse_effort(effort, "reasoning.effort"),
        effort=effort,
        metadata=metadata or {},
        **flags,
    )


_FLAGS = (("stream", False), ("background", False), ("store", True))


def _bool(data: dict[str, Any], name: str, default: bool) -> bool:
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"'{name}' must be a boolean", param=name)
    return value


def _input(given: Any) -> list[Turn]:
    if given is None:
        raise BadRequest("'input' is required", param="input")
    if isinstance(given, str):
        if not given:
            raise BadRequest("'input' must not be empty", param="input")
        return [Turn("user", given)]
    if not isinstance(given, list) or not given:
        raise BadRequest("'input' must be a string or a non-empty list of items", param="input")
    turns = []
    for i, item in enumerate(given):
        param = f"input[{i}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{param} must be an object", param=param)
        kind = item.get("type", "message")
        if kind in _SKIPPED_ITEMS:
            continue
        if kind != "message":
            raise BadRequest(f"{param} of type {kind!r} is not supported", param=param)
        role = item.get("role")
        if role not in ROLES:
            raise BadRequest(f"{param}.role must be one of: {', '.join(ROLES)}", param=param)
        turns.append(
            Turn(role, text_of(item.get("content"), f"{param}.content", kinds=_TEXT_PARTS))
        )
    if not turns:
        raise BadRequest("'input' has no message", param="input")
    return turns
