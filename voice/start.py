"""`POST /start`: a session token and where to connect with it, as Pipecat's runner answers.

A portal's backend calls it with the operator key (`Authorization: Bearer <--api-key>`) and
hands the answer to the widget, so the key never reaches a browser; the official JS client's
`startBotAndConnect({endpoint})` posts to such a backend and connects with the answer. The
request is `{"transport": "webrtc" | "websocket" | "twilio" | "telnyx" | "plivo",
"body": {...}}` (default webrtc); `body` (who the visitor is, a JSON object of at most
`MAX_BODY_BYTES`) travels inside the token to the session, which tells the model. Answers:

    webrtc     {"sessionId", "webrtcRequestParams": {"endpoint": <offer URL>}, "iceConfig"?}
    websocket  {"wsUrl": <ws-client URL>, "token"}   (the JS transport adds ?token=)
    phone      {"wsUrl": <wss://HOST/ws/<token>>, "token"}   (for the provider's <Stream>)

`sessionId` is the token itself, in the offer URL's path, which is where the JS transport
puts it when it builds the URL from the `/start` endpoint. Hosts are `--public-url`, else
the request's `X-Forwarded-Host` or `Host`. Without `--api-key` the route is open (the app
then binds only loopback hosts) and its tokens are optional everywhere.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from loguru import logger

from voice.access import Access
from voice.http_errors import json_error
from voice.phone.webhook import PROVIDERS, public_base
from voice.rate_limit import RateLimit, retry_after
from voice.settings import Settings

MAX_REQUEST_BYTES = 8 * 1024
MAX_BODY_BYTES = 2 * 1024
TRANSPORTS = ("webrtc", "websocket", *PROVIDERS)


class BadStart(ValueError):
    """A `/start` request this app cannot take; the message says why."""


def add_start_route(app: FastAPI, access: Access) -> None:
    """Add `POST /start` to `app`."""
    settings: Settings = access.settings
    limit = RateLimit(settings.start_rate_limit)

    @app.post("/start")
    async def start(request: Request) -> JSONResponse:
        """A session token for one channel, with where to connect."""
        client = request.client.host if request.client else "?"
        if wait := limit.take(client):
            logger.warning(f"/start refused: {client} is over {settings.start_rate_limit}/min")
            return json_error(
                429, "too many /start requests; retry later", {"Retry-After": retry_after(wait)}
            )
        if access.on and not access.is_key(request.headers.get("authorization")):
            logger.warning(f"/start refused: {client} did not send the operator key")
            return json_error(
                401,
                "POST /start needs the operator key as Authorization: Bearer",
                {"WWW-Authenticate": "Bearer"},
            )
        try:
            transport, body = parse_start(await request.body())
        except BadStart as e:
            logger.warning(f"/start refused: {e}")
            return json_error(400, str(e))
        use = "phone" if transport in PROVIDERS else transport
        token = access.tokens.mint(use, body)
        grant = access.tokens.verify(token, use)
        logger.info(f"/start: a {transport} session token ({grant.jti}) for {client}")
        secure, host = public_base(settings.public_url, request.headers, request.url.scheme)
        http, ws = ("https", "wss") if secure else ("http", "ws")
        if transport == "webrtc":
            answer: dict[str, Any] = {
                "sessionId": token,
                "webrtcRequestParams": {"endpoint": f"{http}://{host}/sessions/{token}/api/offer"},
            }
            if settings.ice_servers:
                answer["iceConfig"] = {"iceServers": list(settings.ice_servers)}
        elif transport == "websocket":
            answer = {"wsUrl": f"{ws}://{host}/ws-client", "token": token}
        else:
            answer = {"wsUrl": f"{ws}://{host}/ws/{token}", "token": token}
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})


def parse_start(raw: bytes) -> tuple[str, dict[str, Any]]:
    """The transport and the portal's body in a `/start` request; raise `BadStart` unless
    it is one. An empty request means webrtc with no body."""
    if len(raw) > MAX_REQUEST_BYTES:
        raise BadStart(f"the request is over {MAX_REQUEST_BYTES} bytes")
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError as e:
        raise BadStart("the request is not JSON") from e
    if not isinstance(data, dict):
        raise BadStart("the request must be a JSON object")
    transport = data.get("transport", "webrtc")
    if transport not in TRANSPORTS:
        raise BadStart(f"'transport' must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
    body = data.get("body")
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadStart("'body' must be a JSON object (who the visitor is)")
    if len(json.dumps(body, separators=(",", ":")).encode()) > MAX_BODY_BYTES:
        raise BadStart(f"'body' is over {MAX_BODY_BYTES} bytes as JSON")
    return transport, body
