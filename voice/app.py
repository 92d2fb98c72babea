"""The web app: one Pipecat voice session per websocket, many at once.

Routes follow Pipecat's runner (`pipecat/runner/run.py`), so its clients and docs apply:
`/ws-client` for plain websocket clients such as `@pipecat-ai/websocket-transport`,
`POST /` for Twilio's call webhook (TwiML pointing the call at `/ws`), `/ws` for the call's
media stream, and `GET /status`. Both websockets count against one session limit and run
the same pipeline (`voice.bot`). The runner module itself is not imported: on import it
loads `.env` over the environment and sets `ENV=local`, which a server must not do.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response, WebSocket
from loguru import logger
from pipecat.runner.types import WebSocketRunnerArguments
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.utils.security.allowed_origins import is_origin_allowed

from voice import phone_call, twilio_signature, twiml
from voice.bot import run_bot
from voice.llm_server import LlmEndpoint
from voice.settings import Settings
from voice.transports import session_transport
from voice.wire_format import ClientFrameSerializer

# Close codes: 4003 is the runner's for a refused origin; 1013 is "try again later";
# 1008 is a policy violation (a stream that does not start as a call).
CLOSE_FORBIDDEN = 4003
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_POLICY_VIOLATION = 1008


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
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        logger.info(
            "phone calls: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set, so the bot "
            "does not hang up calls itself (auto hang-up off)"
        )

    @app.get("/")
    @app.get("/status")
    async def status() -> dict[str, object]:
        """Readiness, where to connect, and how many sessions are live."""
        return {
            "status": "ready",
            "transports": ["websocket", "twilio"],
            "websocket": "/ws-client",
            "twilio": {"webhook": "POST /", "websocket": "/ws"},
            "sessions": {"live": slots.live, "limit": slots.limit},
        }

    @app.post("/")
    async def twilio_webhook(request: Request) -> Response:
        """Twilio's voice webhook: TwiML connecting the call to `/ws`, with who called whom.

        With `TWILIO_AUTH_TOKEN` set, a request without Twilio's valid signature gets 403.
        """
        fields = parse_qsl((await request.body()).decode("utf-8", "replace"), True)
        if settings.twilio_auth_token:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            signed = twiml.webhook_url(
                settings.public_url, request.headers, request.url.scheme, path
            )
            given = request.headers.get("x-twilio-signature", "")
            if not twilio_signature.is_signed(settings.twilio_auth_token, signed, fields, given):
                logger.warning(f"call webhook refused: no valid X-Twilio-Signature for {signed}")
                return Response("invalid X-Twilio-Signature", status_code=403)
        form = dict(fields)
        url = twiml.stream_url(settings.public_url, request.headers, request.url.scheme)
        parameters = {k: form[k] for k in twiml.CALL_PARAMETERS if k in form}
        logger.info(f"call {form.get('CallSid', '?')}: streaming to {url}")
        return Response(twiml.connect_stream(url, parameters), media_type="application/xml")

    @app.websocket("/ws")
    async def phone_stream(websocket: WebSocket) -> None:
        """One phone call's media stream, Twilio's JSON events with 8 kHz mu-law audio."""
        await websocket.accept()

        async def call(session_id: str) -> None:
            try:
                answered = await phone_call.answer(websocket)
            except phone_call.CallRefused as e:
                logger.warning(f"session {session_id} ended (bad call stream: {e})")
                await websocket.close(code=CLOSE_POLICY_VIOLATION, reason=str(e)[:120])
                return
            logger.info(f"call {answered.call_id} on stream {answered.stream_id}")
            serializer = phone_call.serializer_for(answered, settings)
            await _run_session(websocket, session_id, serializer, settings, llm_endpoint)

        await _in_a_slot(websocket, slots, "call", call)

    @app.websocket("/ws-client")
    async def websocket_client(websocket: WebSocket) -> None:
        """One voice session over Pipecat's protobuf frames."""
        origin = websocket.headers.get("origin", "")
        if not is_origin_allowed(origin, list(settings.allowed_origins)):
            logger.warning(f"websocket refused: origin {origin!r} not allowed")
            await websocket.close(code=CLOSE_FORBIDDEN)
            return
        await websocket.accept()

        async def session(session_id: str) -> None:
            serializer = ClientFrameSerializer()
            await _run_session(websocket, session_id, serializer, settings, llm_endpoint)

        await _in_a_slot(websocket, slots, "websocket", session)

    return app


async def _in_a_slot(
    websocket: WebSocket,
    slots: SessionSlots,
    what: str,
    run: Callable[[str], Awaitable[None]],
) -> None:
    """`run(session_id)` holding one session slot; with none free, close with 1013."""
    if not slots.take():
        logger.warning(f"{what} refused: all {slots.limit} sessions in use")
        await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason="too many sessions")
        return
    session_id = uuid.uuid4().hex[:12]
    try:
        with logger.contextualize(session=session_id):
            await run(session_id)
    finally:
        slots.give_back()


async def _run_session(
    websocket: WebSocket,
    session_id: str,
    serializer: FrameSerializer,
    settings: Settings,
    llm_endpoint: LlmEndpoint,
) -> None:
    runner_args = WebSocketRunnerArguments(
        websocket=websocket,
        session_id=session_id,
        transport_type="websocket" if isinstance(serializer, ClientFrameSerializer) else "twilio",
    )
    reason = "client left or idle"
    try:
        transport = session_transport(websocket, serializer)
        await run_bot(transport, runner_args, settings=settings, llm_endpoint=llm_endpoint)
    except Exception as e:
        reason = f"error: {e!r}"
        logger.exception("session failed")
    finally:
        if rejection := getattr(serializer, "rejection", None):
            reason = f"bad client input: {rejection}"
        logger.info(f"session {session_id} ended ({reason})")
