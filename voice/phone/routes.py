"""The phone routes, named as Pipecat's runner names them: `POST /` and `/ws`.

`POST /` is the provider's call webhook: it answers with the provider's XML (`webhook`)
pointing the call's media stream at `/ws`. `/ws` carries the call (`call`), any provider.

With `TWILIO_AUTH_TOKEN` set the phone routes are locked to Twilio: a webhook without a valid
`X-Twilio-Signature` gets 403, the stream URL it answers with carries a one-time session
token (`/ws/<token>`), and `/ws` without a valid one is closed with 4003. Without it anyone
who can reach the app can place a call, and start-up says so.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response, WebSocket
from loguru import logger

from voice.phone import call as phone_call
from voice.phone import signature, webhook
from voice.phone.marks import PlaybackMarks
from voice.session_token import SessionTokens
from voice.sessions import CLOSE_FORBIDDEN, CLOSE_POLICY_VIOLATION, Sessions
from voice.transports import PHONE_RATES

TOKEN_USE = "phone"


def add_phone_routes(app: FastAPI, sessions: Sessions, tokens: SessionTokens) -> None:
    """Add `POST /`, `/ws` and `/ws/{token}` to `app`."""
    settings = sessions.settings
    locked = bool(settings.twilio_auth_token)
    _log_how_calls_are_let_in(sessions)

    @app.post("/")
    async def call_webhook(request: Request) -> Response:
        """The call webhook: the provider's XML connecting the call to `/ws`, with who called.

        With `TWILIO_AUTH_TOKEN` set, a request without Twilio's valid signature gets 403.
        """
        fields = parse_qsl((await request.body()).decode("utf-8", "replace"), True)
        if locked:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            signed = webhook.webhook_url(
                settings.public_url, request.headers, request.url.scheme, path
            )
            given = request.headers.get("x-twilio-signature", "")
            if not signature.is_signed(settings.twilio_auth_token or "", signed, fields, given):
                logger.warning(f"call webhook refused: no valid X-Twilio-Signature for {signed}")
                return Response("invalid X-Twilio-Signature", status_code=403)
        form = dict(fields)
        provider = "twilio" if locked else webhook.provider_of(form, settings.telephony)
        token = tokens.mint(TOKEN_USE) if locked else ""
        url = webhook.stream_url(settings.public_url, request.headers, request.url.scheme, token)
        parameters = {k: form[k] for k in webhook.CALL_PARAMETERS if k in form}
        call_id = form.get("CallSid") or form.get("CallUUID") or "?"
        logger.info(f"{provider} call {call_id}: streaming to {url.split('/ws')[0]}/ws")
        answer = webhook.call_answer(provider, url, parameters)
        return Response(answer, media_type="application/xml")

    @app.websocket("/ws")
    async def phone_stream(websocket: WebSocket) -> None:
        """One phone call's media stream: Twilio's, Telnyx's or Plivo's JSON events."""
        await _stream(websocket, None)

    @app.websocket("/ws/{token}")
    async def phone_stream_with_token(websocket: WebSocket, token: str) -> None:
        """The same, opened with the session token `POST /` put in the stream URL."""
        await _stream(websocket, token)

    async def _stream(websocket: WebSocket, token: str | None) -> None:
        if locked:
            refusal = tokens.redeem(token, TOKEN_USE) if token else "no session token"
            if refusal:
                logger.warning(f"call stream refused: its token is {refusal}")
                await websocket.close(code=CLOSE_FORBIDDEN)
                return
        await websocket.accept()

        async def call(session_id: str) -> None:
            try:
                answered = await phone_call.answer(websocket)
                serializer = phone_call.serializer_for(answered, settings)
            except phone_call.CallRefused as e:
                logger.warning(f"session {session_id} ended (bad call stream: {e})")
                await websocket.close(code=CLOSE_POLICY_VIOLATION, reason=str(e)[:120])
                return
            logger.info(
                f"{answered.provider} call {answered.call_id} on stream {answered.stream_id}"
            )
            marks = PlaybackMarks(serializer)
            await sessions.run(
                websocket, session_id, serializer, answered.provider, PHONE_RATES, [marks]
            )

        await sessions.in_a_slot(websocket, "call", call)


def _log_how_calls_are_let_in(sessions: Sessions) -> None:
    settings = sessions.settings
    if not settings.twilio_auth_token:
        logger.warning(
            "phone calls: POST / and /ws are unauthenticated (TWILIO_AUTH_TOKEN is not set): "
            "anyone who can reach this app can place a call"
        )
    hangs_up = [
        p for p in webhook.PROVIDERS if phone_call.hang_up_credentials(p, settings) is not None
    ]
    if not hangs_up:
        logger.info(
            "phone calls: no provider credentials are set (TWILIO_ACCOUNT_SID and "
            "TWILIO_AUTH_TOKEN, TELNYX_API_KEY, PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN), so the bot "
            "does not hang up calls itself (auto hang-up off)"
        )
