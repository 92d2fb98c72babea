"""The start of a phone call on `/ws`: which provider, which call, and its serializer.

A Twilio Media Stream sends `connected`, then `start` (stream and call SIDs, the TwiML's
`<Parameter>`s), then `media`. `parse_telephony_websocket` reads those first messages and
names the provider. Pipecat's `TwilioFrameSerializer` logs and drops a message that is not
JSON; `PhoneFrameSerializer` ends the call instead, and keeps why as `rejection`, as the
`/ws-client` serializer does.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from fastapi import WebSocket
from pipecat.frames.frames import Frame
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.serializers.twilio import TwilioFrameSerializer

from voice.settings import Settings
from voice.wire_format import ClientInputError

# Twilio sends `connected` and `start` at once; a stream still silent after this is not a call.
START_TIMEOUT_SECS = 5.0


class CallRefused(ValueError):
    """The stream did not start as a phone call this app takes."""


@dataclass(frozen=True)
class PhoneCall:
    """One call's identity, from its stream's `start` message."""

    provider: str
    stream_id: str
    call_id: str
    parameters: dict[str, str] = field(default_factory=dict)


class PhoneFrameSerializer(TwilioFrameSerializer):
    """`TwilioFrameSerializer` that ends the call on a message that is not JSON."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.rejection: str | None = None

    async def deserialize(self, data: str | bytes) -> Frame | None:
        """Decode one media stream message, or raise `ClientInputError` (kept as `rejection`)."""
        try:
            message = json.loads(data)
        except ValueError as e:
            self.rejection = f"{len(data)} characters that are not JSON"
            raise ClientInputError(self.rejection) from e
        if not isinstance(message, dict):
            self.rejection = f"a JSON {type(message).__name__}, not a media stream event"
            raise ClientInputError(self.rejection)
        return await super().deserialize(data)


async def answer(websocket: WebSocket) -> PhoneCall:
    """Read the accepted `websocket`'s first messages; raise `CallRefused` unless a Twilio
    stream started within `START_TIMEOUT_SECS`."""
    try:
        provider, data = await asyncio.wait_for(
            parse_telephony_websocket(websocket), START_TIMEOUT_SECS
        )
    except TimeoutError as e:
        raise CallRefused(f"no start message within {START_TIMEOUT_SECS:g} s") from e
    except ValueError as e:
        raise CallRefused(str(e)) from e
    if provider != "twilio":
        raise CallRefused(f"no Twilio start message (detected {provider!r})")
    parameters = data.get("body") or {}
    return PhoneCall(
        provider=provider,
        stream_id=data["stream_id"],
        call_id=data["call_id"],
        parameters={str(k): str(v) for k, v in parameters.items()},
    )


def serializer_for(call: PhoneCall, settings: Settings) -> PhoneFrameSerializer:
    """The call's serializer: it hangs up through Twilio's REST API when the bot ends the
    session, given `TWILIO_ACCOUNT_SID` and `TWILIO_AUTH_TOKEN`; without them the caller does."""
    can_hang_up = bool(settings.twilio_account_sid and settings.twilio_auth_token)
    return PhoneFrameSerializer(
        call.stream_id,
        call.call_id,
        account_sid=settings.twilio_account_sid if can_hang_up else None,
        auth_token=settings.twilio_auth_token if can_hang_up else None,
        params=TwilioFrameSerializer.InputParams(auto_hang_up=can_hang_up),
    )
