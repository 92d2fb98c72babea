"""The start of a phone call on `/ws`: which provider, which call, and its serializer.

Each provider's media stream opens with a `start` message (Twilio and Telnyx send
`connected` first); `parse_telephony_websocket` reads the first two messages and names the
provider. Pipecat's serializers then carry the call: 8 kHz mu-law both ways, resampled to
and from the pipeline's rates, and a buffer-clearing event on an interruption.

Pipecat's serializers log and drop what they cannot read. Here every message is held to the
provider's protocol first, and anything else ends the call (kept as `rejection`, as the
`/ws-client` serializer does): text that is not a JSON object, an event the provider does
not send, a media payload that is not base64 or, on Twilio, not whole 20 ms frames. Each
serializer also writes the provider's playback marker (`mark_message`) and keeps the names
the provider echoes back once the caller has heard up to them (`heard`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import WebSocket
from loguru import logger
from pipecat.frames.frames import Frame
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.serializers.plivo import PlivoFrameSerializer
from pipecat.serializers.telnyx import TelnyxFrameSerializer
from pipecat.serializers.twilio import TwilioFrameSerializer

from voice.settings import Settings
from voice.wire_format import ClientInputError

# Providers send `connected` and `start` at once; a stream still silent after this is no call.
START_TIMEOUT_SECS = 5.0
TWILIO_FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law: Twilio's media message


class CallRefused(ValueError):
    """The stream did not start as a phone call this app takes."""


@dataclass(frozen=True)
class PhoneCall:
    """One call's identity, from its stream's `start` message."""

    provider: str
    stream_id: str
    call_id: str
    parameters: dict[str, str] = field(default_factory=dict)
    encoding: str = "PCMU"  # Telnyx names the caller's codec; the others are always mu-law


class _HeldToProtocol(FrameSerializer):
    """What every phone serializer here adds to Pipecat's: strict input, playback marks.

    A subclass names its provider's `EVENTS` (all it may send), the event that echoes a mark
    (`HEARD_EVENT`), and how to write one (`mark_message`)."""

    EVENTS: frozenset[str] = frozenset()
    HEARD_EVENT = "mark"
    FRAME_BYTES = 0  # a media payload's length must be a multiple of this (0: any)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rejection: str | None = None
        self.heard: list[str] = []

    def mark_message(self, name: str) -> dict:
        """The message that asks the provider to echo `name` once playback reaches it."""
        raise NotImplementedError

    def heard_name(self, message: dict) -> str | None:
        """The mark name in an echoed mark message."""
        return (message.get("mark") or {}).get("name")

    async def deserialize(self, data: str | bytes) -> Frame | None:
        """Decode one media stream message, or raise `ClientInputError` (kept as `rejection`)."""
        try:
            message = self._check(data)
        except ClientInputError as e:
            self.rejection = str(e)
            raise
        if message["event"] == self.HEARD_EVENT:
            name = self.heard_name(message)
            logger.debug(f"the caller has heard the bot up to mark {name!r}")
            self.heard.append(str(name))
            return None
        return await super().deserialize(data)  # type: ignore[safe-super]

    def _check(self, data: str | bytes) -> dict:
        try:
            message = json.loads(data)
        except ValueError as e:
            raise ClientInputError(f"{len(data)} characters that are not JSON") from e
        if not isinstance(message, dict):
            raise ClientInputError(f"a JSON {type(message).__name__}, not a media stream event")
        event = message.get("event")
        if event not in self.EVENTS:
            raise ClientInputError(f"an unknown event {str(event)[:40]!r}")
        if event == "media":
            payload = (message.get("media") or {}).get("payload", "")
            try:
                audio = base64.b64decode(payload, validate=True)
            except (binascii.Error, TypeError, ValueError) as e:
                raise ClientInputError("a media payload that is not base64") from e
            if self.FRAME_BYTES and len(audio) % self.FRAME_BYTES:
                raise ClientInputError(
                    f"a {len(audio)}-byte media payload: not whole 20 ms frames "
                    f"of {self.FRAME_BYTES} bytes"
                )
        return message


class TwilioCallSerializer(_HeldToProtocol, TwilioFrameSerializer):
    """Twilio Media Streams: `media`, `clear` with the stream SID, `mark` echoed back."""

    EVENTS = frozenset({"connected", "start", "media", "dtmf", "mark", "stop"})
    FRAME_BYTES = TWILIO_FRAME_BYTES

    def __init__(self, stream_id: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(stream_id, *args, **kwargs)
        self.stream_id = stream_id

    def mark_message(self, name: str) -> dict:
        return {"event": "mark", "streamSid": self.stream_id, "mark": {"name": name}}


class TelnyxCallSerializer(_HeldToProtocol, TelnyxFrameSerializer):
    """Telnyx media streaming: Twilio's shape without the SIDs; `mark` echoed back."""

    EVENTS = frozenset({"connected", "start", "media", "dtmf", "mark", "stop", "error"})

    def mark_message(self, name: str) -> dict:
        return {"event": "mark", "mark": {"name": name}}


class PlivoCallSerializer(_HeldToProtocol, PlivoFrameSerializer):
    """Plivo audio streams: `playAudio`, `clearAudio`, and a `checkpoint` echoed back as
    `playedStream`."""

    EVENTS = frozenset({"start", "media", "dtmf", "playedStream", "clearedAudio", "stop"})
    HEARD_EVENT = "playedStream"

    def __init__(self, stream_id: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(stream_id, *args, **kwargs)
        self.stream_id = stream_id

    def mark_message(self, name: str) -> dict:
        return {"event": "checkpoint", "streamId": self.stream_id, "name": name}

    def heard_name(self, message: dict) -> str | None:
        return message.get("name")


PhoneSerializer = TwilioCallSerializer | TelnyxCallSerializer | PlivoCallSerializer


async def answer(websocket: WebSocket) -> PhoneCall:
    """Read the accepted `websocket`'s first messages; raise `CallRefused` unless a Twilio,
    Telnyx or Plivo stream started within `START_TIMEOUT_SECS`."""
    try:
        provider, data = await asyncio.wait_for(
            parse_telephony_websocket(websocket), START_TIMEOUT_SECS
        )
    except TimeoutError as e:
        raise CallRefused(f"no start message within {START_TIMEOUT_SECS:g} s") from e
    except ValueError as e:
        raise CallRefused(str(e)) from e
    if provider not in ("twilio", "telnyx", "plivo") or not data.get("stream_id"):
        raise CallRefused(f"no Twilio, Telnyx or Plivo start message (detected {provider!r})")
    parameters = data.get("body") or {}
    return PhoneCall(
        provider=provider,
        stream_id=str(data["stream_id"]),
        call_id=str(data.get("call_id") or ""),
        parameters={str(k): str(v) for k, v in parameters.items()},
        encoding=str(data.get("outbound_encoding") or "PCMU"),
    )


def hang_up_credentials(provider: str, settings: Settings) -> dict[str, str] | None:
    """The REST credentials the bot hangs `provider`'s calls up with, when all are set."""
    credentials = {
        "twilio": {
            "account_sid": settings.twilio_account_sid,
            "auth_token": settings.twilio_auth_token,
        },
        "telnyx": {"api_key": settings.telnyx_api_key},
        "plivo": {"auth_id": settings.plivo_auth_id, "auth_token": settings.plivo_auth_token},
    }[provider]
    return credentials if all(credentials.values()) else None  # type: ignore[return-value]


def serializer_for(call: PhoneCall, settings: Settings) -> PhoneSerializer:
    """The call's serializer. It hangs up through the provider's REST API when the bot ends
    the session, given that provider's credentials; without them the caller does."""
    credentials = (call.call_id and hang_up_credentials(call.provider, settings)) or {}
    hang_up = bool(credentials)
    if call.provider == "telnyx":
        if call.encoding not in ("PCMU", "PCMA"):
            raise CallRefused(f"Telnyx audio in {call.encoding!r}; this app takes PCMU or PCMA")
        return TelnyxCallSerializer(
            call.stream_id,
            call.encoding,
            call.encoding,
            call_control_id=call.call_id or None,
            params=TelnyxFrameSerializer.InputParams(auto_hang_up=hang_up),
            **credentials,
        )
    if call.provider == "plivo":
        return PlivoCallSerializer(
            call.stream_id,
            call.call_id or None,
            params=PlivoFrameSerializer.InputParams(auto_hang_up=hang_up),
            **credentials,
        )
    return TwilioCallSerializer(
        call.stream_id,
        call.call_id,
        base_url=settings.twilio_api_base_url,
        params=TwilioFrameSerializer.InputParams(auto_hang_up=hang_up),
        **credentials,
    )
