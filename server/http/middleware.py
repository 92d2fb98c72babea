"""Request middlewares: API-key auth on /v1, and error responses in each API's own envelope
(Anthropic's on `/v1/messages`, OpenAI's elsewhere)."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from server.errors import Busy, ServerError, Unauthorized
from server.http.anthropic_format import error_envelope, error_type

ANTHROPIC_PATHS = ("/v1/messages",)

log = logging.getLogger(__name__)


def error_response(error: ServerError, path: str = "") -> web.Response:
    """An error in the envelope of the API at `path`, with its HTTP status."""
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Busy) else None
    if path.startswith(ANTHROPIC_PATHS):
        body = error_envelope(error_type(error.status), error.message)
    else:
        body = error.envelope()
    return web.json_response(body, status=error.status, headers=headers)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into an OpenAI error envelope; never a traceback to the client."""
    try:
        return await handler(request)
    except ServerError as e:
        log.info("%s %s -> %d: %s", request.method, request.path, e.status, e.message)
        return error_response(e, request.path)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        error = ServerError(e.reason, code=str(e.status))
        error.status, error.type = e.status, "invalid_request_error"
        return error_response(error, request.path)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(ServerError("internal server error"), request.path)


def auth_middleware(api_key: str | None) -> Middleware:
    """Require the key on /v1 routes, as `Authorization: Bearer <key>` (OpenAI's clients) or
    `x-api-key: <key>` (Anthropic's), compared in constant time."""
    expected = api_key.encode() if api_key else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if expected is not None and request.path.startswith("/v1"):
            bearer = request.headers.get("Authorization", "")
            given = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else ""
            given = given or request.headers.get("x-api-key", "")
            if not hmac.compare_digest(given.encode(), expected):
                raise Unauthorized(
                    "missing or invalid API key (Authorization: Bearer KEY, or x-api-key: KEY)"
                )
        return await handler(request)

    return middleware
