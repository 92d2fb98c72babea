"""The web app: one Pipecat voice session per websocket, many at once.

Routes follow Pipecat's runner (`pipecat/runner/run.py`), so its clients and docs apply:
`/ws-client` for plain websocket clients such as `@pipecat-ai/websocket-transport`, the
phone routes (`POST /` for a provider's call webhook, `/ws` for the call's media stream;
`voice.phone.routes`), WebRTC at `/api/offer` (`voice.webrtc`), the portal widget and its
demo page (`GET /widget.js`, `GET /`; `voice.portal`), `GET /status`, and `GET /live` and
`GET /ready` (`voice.drain`, which also refuses new sessions while the app drains). `POST /start`
mints the session tokens every channel opens with when auth is on (`voice.start`,
`voice.access`). Calls are recorded (`voice.calls`: `/api/calls`, the page at `/calls`).
Which web origins may connect is `voice.origins`. Every session counts
against one limit and runs the same pipeline (`voice.sessions`, `voice.bot`). The runner
module itself is not imported: on import it loads `.env` over the environment and sets
`ENV=local`, which a server must not.
"""

from __future__ import annotations

from fastapi import FastAPI, Response, WebSocket
from loguru import logger
from prometheus_client import CONTENT_TYPE_LATEST

from voice.access import Access, token_of
from voice.calls.api import add_call_routes
from voice.calls.store import CallStore
from voice.drain import add_drain_routes
from voice.llm_server import LlmEndpoint
from voice.origins import OriginPolicy, add_origin_checks
from voice.phone import webhook
from voice.phone.routes import add_phone_routes
from voice.portal import add_portal_routes
from voice.session_token import TokenRefused
from voice.sessions import CLOSE_FORBIDDEN, Sessions
from voice.settings import Settings
from voice.start import add_start_route
from voice.transports import WEBSOCKET_RATES
from voice.webrtc import add_webrtc_routes
from voice.wire_format import ClientFrameSerializer


def create_app(
    settings: Settings, llm_endpoint: LlmEndpoint, store: CallStore | None = None
) -> FastAPI:
    """Build the app; each session runs its own pipeline until it ends, and is recorded in
    `store` when there is one (`/api/calls`, `/calls`)."""
    app = FastAPI(title="voice agent", docs_url=None, redoc_url=None, openapi_url=None)
    sessions = Sessions(settings, llm_endpoint, store)
    app.state.sessions = sessions
    access = Access(settings)
    if access.on:
        logger.info("auth is on: POST /start with the operator key mints each session's token")

    origins = OriginPolicy(settings.allowed_origins)
    add_origin_checks(app, origins)
    add_drain_routes(app, sessions.drain)

    @app.get("/metrics")
    async def metrics() -> Response:
        """Sessions, turn latency and barge-ins in Prometheus' text format (`voice.metrics`)."""
        return Response(sessions.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/status")
    async def status() -> dict[str, object]:
        """Readiness, where to connect, and how many sessions are live."""
        return {
            "status": "draining" if sessions.drain.draining else "ready",
            "transports": ["websocket", "webrtc", *webhook.PROVIDERS],
            "websocket": "/ws-client",
            "webrtc": "/api/offer",
            "widget": "/widget.js",
            "calls": "/calls" if store else None,
            "phone": {"webhook": "POST /", "websocket": "/ws", "providers": [*webhook.PROVIDERS]},
            "sessions": {"live": sessions.slots.live, "limit": sessions.slots.limit},
            "start": "POST /start",
            "auth": "token" if access.on else "none",
        }

    add_start_route(app, access)
    add_phone_routes(app, sessions, access)
    add_webrtc_routes(app, sessions, access)
    add_portal_routes(app)
    if store:
        add_call_routes(app, store, settings.admin_token)

    @app.websocket("/ws-client")
    async def websocket_client(websocket: WebSocket) -> None:
        """One voice session over Pipecat's protobuf frames; with auth on, opened with a
        session token (`Authorization: Bearer` or `?token=`)."""
        await _websocket_client(websocket, None)

    @app.websocket("/ws-client/{token}")
    async def websocket_client_with_token(websocket: WebSocket, token: str) -> None:
        """The same, with the session token in the path."""
        await _websocket_client(websocket, token)

    async def _websocket_client(websocket: WebSocket, path_token: str | None) -> None:
        if not origins.allows(websocket.headers, websocket.url.scheme):
            origin = websocket.headers.get("origin", "")
            logger.warning(f"websocket refused: origin {origin!r} not allowed")
            await websocket.close(code=CLOSE_FORBIDDEN)
            return
        token = token_of(websocket.headers, websocket.query_params, path_token)
        try:
            grant = access.admit(token, "websocket")
        except TokenRefused as e:
            logger.warning(f"websocket refused: its session token is {e}")
            await websocket.close(code=CLOSE_FORBIDDEN, reason=f"session token {e}"[:120])
            return
        await websocket.accept()
        body = grant.body if grant else None

        async def session(session_id: str) -> None:
            serializer = ClientFrameSerializer()
            await sessions.run(
                websocket, session_id, serializer, "websocket", WEBSOCKET_RATES, body=body
            )

        if not await sessions.in_a_slot(websocket, "websocket", session) and grant:
            access.tokens.release(grant)  # refused as busy: the token may try again

    return app
