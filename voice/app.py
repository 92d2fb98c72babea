"""The web app: one Pipecat voice session per websocket, many at once.

Routes follow Pipecat's runner (`pipecat/runner/run.py`), so its clients and docs apply:
`/ws-client` for plain websocket clients such as `@pipecat-ai/websocket-transport`, and
`GET /status`. Telephony (`/ws`, `POST /`) and WebRTC (`/api/offer`) join them later, with
their transports in `voice.transports`. The runner module itself is not imported: on import
it loads `.env` over the environment and sets `ENV=local`, which a server must not do.
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI, WebSocket
from loguru import logger
from pipecat.runner.types import WebSocketRunnerArguments
from pipecat.utils.security.allowed_origins import is_origin_allowed

from voice.bot import run_bot
from voice.llm_server import LlmEndpoint
from voice.settings import Settings
from voice.transports import session_transport
from voice.wire_format import ClientFrameSerializer

# Close codes: 4003 is the runner's for a refused origin; 1013 is "try again later".
CLOSE_FORBIDDEN = 4003
CLOSE_TRY_AGAIN_LATER = 1013


class SessionSlots:
    """Counts live sessions against a limit."""

    def __init__(self, limit: int):
        self.limit = limit
        self.live = 0

    def take(self) -> bool:
        """Take a slot; False when all are in use."""
        if self.live >= self.limit:
            return False
        self.live += 1
        return True

    def give_back(self) -> None:
        """Return a slot taken with `take`."""
        self.live -= 1


def create_app(settings: Settings, llm_endpoint: LlmEndpoint) -> FastAPI:
    """Build the app; each `/ws-client` connection runs its own pipeline until it closes."""
    app = FastAPI(title="voice agent", docs_url=None, redoc_url=None, openapi_url=None)
    slots = SessionSlots(settings.max_sessions)

    @app.get("/")
    @app.get("/status")
    async def status() -> dict[str, object]:
        """Readiness, where to connect, and how many sessions are live."""
        return {
            "status": "ready",
            "transports": ["websocket"],
            "websocket": "/ws-client",
            "sessions": {"live": slots.live, "limit": slots.limit},
        }

    @app.websocket("/ws-client")
    async def websocket_client(websocket: WebSocket) -> None:
        """One voice session over Pipecat's protobuf frames."""
        origin = websocket.headers.get("origin", "")
        if not is_origin_allowed(origin, list(settings.allowed_origins)):
            logger.warning(f"websocket refused: origin {origin!r} not allowed")
            await websocket.close(code=CLOSE_FORBIDDEN)
            return
        await websocket.accept()
        if not slots.take():
            logger.warning(f"websocket refused: all {slots.limit} sessions in use")
            await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason="too many sessions")
            return
        session_id = uuid.uuid4().hex[:12]
        try:
            with logger.contextualize(session=session_id):
                await _run_session(websocket, session_id, settings, llm_endpoint)
        finally:
            slots.give_back()

    return app


async def _run_session(
    websocket: WebSocket, session_id: str, settings: Settings, llm_endpoint: LlmEndpoint
) -> None:
    serializer = ClientFrameSerializer()
    runner_args = WebSocketRunnerArguments(
        websocket=websocket, transport_type="websocket", session_id=session_id
    )
    reason = "client left or idle"
    try:
        transport = await session_transport(runner_args, serializer)
        await run_bot(transport, runner_args, settings=settings, llm_endpoint=llm_endpoint)
    except Exception as e:
        reason = f"error: {e!r}"
        logger.exception("session failed")
    finally:
        if serializer.rejection:
            reason = f"bad client input: {serializer.rejection}"
        logger.info(f"session {session_id} ended ({reason})")
