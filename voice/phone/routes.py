"""The phone routes, named as Pipecat's runner names them: `POST /` and `/ws`.

`POST /` is the provider's call webhook: it answers with the provider's XML (`webhook`)
pointing the call's media stream at `/ws`. `/ws` carries the call (`call`), any provider.

With `TWILIO_AUTH_TOKEN` set the webhook is locked to Twilio: a request without a valid
`X-Twilio-Signature` gets 403, and the stream URL it answers with carries a one-time session
token (`/ws/<token>`). With it or with `--api-key` (auth on), `/ws` opens only with such a
token, else it is closed with 4003; with auth on and no `TWILIO_AUTH_TOKEN`, no webhook can be
checked, so `POST /` is refused and calls get their stream URL from `POST /start` (an
operator's backend answering Telnyx or Plivo). With neither, anyone who can reach the app can
place a call, and start-up says so.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response, WebSocket
from loguru import logger

from voice.access import Access
from voice.phone import call as phone_call
from voice.phone import signature, webhook
from voice.phone.marks import PlaybackMarks
from voice.session_token import TokenRefused
from voice.sessions import CLOSE_FORBIDDEN, CLOSE_POLICY_VIOLATION, Sessions
from voice.transports import PHONE_RATES

TOKEN_USE = "phone"


def add_phone_routes(app: FastAPI, sessions: Sessions, access: Access) -> None:
    """Add `POST /`, `/ws` and `/ws/{token}` to `app`."""
    settings = sessions.settings
    locked = bool(settings.twilio_auth_token)
    unverifiable = access.on and not locked  # auth on, but no webhook can be checked
    _log_how_calls_are_let_in(sessions, access)

    @app.post("/")
    async def call_webhook(request: Request) -> Response:
        """The call webhook: the provider's XML connecting the call to `/ws`, with who called.

        With `TWILIO_AUTH_TOKEN` set, a request without Twilio's valid signature gets 403.
        """
        if unverifiable:
            logger.warning("call webhook refused: auth is on and TWILIO_AUTH_TOKEN is not set")
            return Response(
                "POST / cannot check this webhook: auth is on (--api-key) and TWILIO_AUTH_TOKEN "
                "is not set; get the call's stream URL from POST /start",
                status_code=403,
            )
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
        token = access.tokens.mint(TOKEN_USE) if locked else ""
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
        try:
            grant = access.admit(token, TOKEN_USE)
        except TokenRefused as e:
            logger.warning(f"call stream refused: its session token is {e}")
            await websocket.close(code=CLOSE_FORBIDDEN)
            return
        await websocket.accept()
        body = grant.body if grant else None

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
            caller = answered.parameters.get("From") or answered.parameters.get("from")
            await sessions.run(
                websocket,
                session_id,
                serializer,
                answered.provider,
                PHONE_RATES,
                [marks],
                body,
                caller,
            )

        if not await sessions.in_a_slot(websocket, "call", call) and grant:
            access.tokens.release(grant)  # refused as busy: the provider may retry


def _log_how_calls_are_let_in(sessions: Sessions, access: Access) -> None:
    settings = sessions.settings
    if access.on and not settings.twilio_auth_token:
        logger.info(
            "phone calls: POST / is off (auth is on and TWILIO_AUTH_TOKEN is not set); a call "
            "streams to the /ws/<token> URL that POST /start returns"
        )
    elif not settings.twilio_auth_token:
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
