"""Which web origins may embed the widget and connect: `--allowed-origins`.

A page on another origin (a portal embedding `widget.js`) reaches this app three ways: a
`fetch` of `/status`, `POST`/`PATCH /api/offer` for WebRTC, and the `/ws-client` websocket.
The app's own pages are always let in. With `--allowed-origins` set, every other origin not
on the list gets 403 on `/api/offer` and the websocket (checked in its route), and no CORS
headers anywhere, so the browser keeps its answers from the page. An empty list lets in any
origin, as Pipecat's `is_origin_allowed` does. A request with no `Origin` (not a browser:
a phone provider, a server-side client) passes unless the list is set and the route is
one a browser calls cross-origin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from fastapi import FastAPI, Request, Response
from loguru import logger
from pipecat.utils.security.allowed_origins import is_origin_allowed

from voice.http_errors import json_error

# Routes a refused origin gets 403 on (the websocket checks in its own route).
GUARDED_PREFIXES = ("/api/offer", "/sessions/")
_CORS_METHODS = "GET, POST, PATCH, OPTIONS"
_CORS_MAX_AGE = "600"


class OriginPolicy:
    """The allowed origins, and the app's own."""

    def __init__(self, allowed: Sequence[str]):
        self.allowed = [origin.rstrip("/") for origin in allowed]

    def allows(self, headers: Mapping[str, str], scheme: str) -> bool:
        """Whether a request with these headers (over `scheme`: http, https, ws or wss) may
        go on: same-origin, a listed origin, or any origin when the list is empty."""
        origin = headers.get("origin", "")
        return self.is_same_origin(origin, headers.get("host", ""), scheme) or self.lists(origin)

    def lists(self, origin: str) -> bool:
        """Whether `origin` (another one than the app's) may connect."""
        return is_origin_allowed(origin, self.allowed)

    def is_cross_origin(self, headers: Mapping[str, str], scheme: str) -> bool:
        """Whether the request names an `Origin` other than this app's."""
        origin = headers.get("origin", "")
        return bool(origin) and not self.is_same_origin(origin, headers.get("host", ""), scheme)

    @staticmethod
    def is_same_origin(origin: str, host: str, scheme: str) -> bool:
        """Whether `origin` is this app's own, as the request's `Host` names it."""
        web_scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        return bool(origin and host) and origin.lower() == f"{web_scheme}://{host}".lower()


def add_origin_checks(app: FastAPI, policy: OriginPolicy) -> None:
    """CORS for allowed origins on every HTTP route, and 403 on `/api/offer` for the rest."""

    @app.middleware("http")
    async def check_origin(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if not policy.is_cross_origin(request.headers, request.url.scheme):
            return await call_next(request)
        origin = request.headers["origin"]
        if not policy.lists(origin):
            if request.url.path.startswith(GUARDED_PREFIXES):
                logger.warning(f"{request.url.path} refused: origin {origin!r} not allowed")
                return json_error(403, f"origin {origin} is not allowed")
            return await call_next(request)  # no CORS headers: the browser hides the answer
        if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            response: Response = Response(status_code=204)
            response.headers["Access-Control-Allow-Methods"] = _CORS_METHODS
            response.headers["Access-Control-Allow-Headers"] = request.headers.get(
                "access-control-request-headers", "content-type"
            )
            response.headers["Access-Control-Max-Age"] = _CORS_MAX_AGE
        else:
            response = await call_next(request)
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        return response
