"""What every JSON route does first: read the body under the size cap, decode it as one JSON
object, and check the model it names."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from server.errors import BadRequest


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request's body; `BadRequest` when it is over `limit` bytes (the app's cap)."""
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BadRequest(f"request body exceeds {limit} bytes", code="request_too_large") from None


def json_object(body: bytes) -> dict[str, Any]:
    """`body` decoded; `BadRequest` unless it is a JSON object."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"request body is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def model_of(
    data: dict[str, Any], models: tuple[str, ...], default: str, *, required: bool = False
) -> str:
    """The body's `model`, one of `models` (`default` when absent, unless `required`)."""
    model = data.get("model")
    if model is None:
        if required:
            raise BadRequest(
                f"'model' is required; supported models: {', '.join(models)}", param="model"
            )
        return default
    if not isinstance(model, str):
        raise BadRequest("'model' must be a string", param="model")
    if model not in models:
        raise BadRequest(
            f"unsupported model {model!r}; supported models: {', '.join(models)}",
            code="model_not_found",
            param="model",
        )
    return model


def text_of(
    content: Any, param: str, *, kinds: tuple[str, ...] = ("text",), skipped: tuple[str, ...] = ()
) -> str:
    """A message's text: a string, or a list of parts of `kinds` (each with a string `text`),
    joined by newlines; parts of `skipped` kinds are left out, any other kind refused."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise BadRequest(f"{param} must be a string or a list of text parts", param=param)
    texts = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in skipped:
            continue
        if kind not in kinds:
            raise BadRequest(
                f"{param}[{i}] must be a text part (only text is supported)", param=param
            )
        if not isinstance(part.get("text"), str):
            raise BadRequest(f"{param}[{i}].text must be a string", param=param)
        texts.append(part["text"])
    return "\n".join(texts)
