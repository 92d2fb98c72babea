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
