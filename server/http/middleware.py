"""Request middlewares: bearer-token auth on /v1 and OpenAI-shaped error responses."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from server.errors import Busy, ServerError, Unauthorized

log = logging.getLogger(__name__)


def error_response(error: ServerError) -> web.Response:
    """An error as OpenAI's JSON envelope with its HTTP status."""
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Busy) else None
    return web.json_response(error.envelope(), status=error.status, headers=headers)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into an OpenAI error envelope; never a traceback to the client."""
    try:
        return await handler(request)
    except ServerError as e:
        log.info("%s %s -> %d: %s", request.method, request.path, e.status, e.message)
        return error_response(e)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        error = ServerError(e.reason, code=str(e.status))
        error.status, error.type = e.status, "invalid_request_error"
        return error_response(error)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(ServerError("internal server error"))


def auth_middleware(api_key: str | None) -> Middleware:
    """Require `Authorization: Bearer <api_key>` on /v1 routes, compared in constant time."""
    expected = f"Bearer {api_key}".encode() if api_key else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if expected is not None and request.path.startswith("/v1"):
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                raise Unauthorized("missing or invalid API key in the Authorization header")
        return await handler(request)

    return middleware
