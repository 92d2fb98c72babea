"""Every transport a voice session can come in on, built in this one place.

Both websocket routes run a `FastAPIWebsocketTransport` and differ in the serializer and the
rates the session's pipeline runs at. `/ws-client` speaks Pipecat's protobuf frames at 16 kHz
in and 24 kHz out. A phone's `/ws` (`voice.phone.call`) carries 8 kHz mu-law, and its
session runs at 8 kHz both ways, so the serializer only re-encodes: Pipecat's streaming
resampler, which it would use otherwise, holds back 100 ms of the caller's speech and 140 ms
of the bot's first words (it emits in bursts). Silero takes 8 kHz itself, and Whisper and
Piper resample each whole segment or sentence at once. `pipecat.runner.utils.create_transport`
is not used: for a phone call it builds its own serializer from `TWILIO_*` variables, with
hang-up on.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import WebSocket
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.transports.base_transport import BaseTransport
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport

from voice.wire_format import IN_SAMPLE_RATE, OUT_SAMPLE_RATE


@dataclass(frozen=True)
class AudioRates:
    """The sample rates a session's pipeline runs at."""

    audio_in: int
    audio_out: int


WEBSOCKET_RATES = AudioRates(IN_SAMPLE_RATE, OUT_SAMPLE_RATE)
PHONE_RATES = AudioRates(8000, 8000)


def websocket_params(serializer: FrameSerializer, rates: AudioRates) -> FastAPIWebsocketParams:
    """Transport params for one websocket session spoken through `serializer` at `rates`."""
    return FastAPIWebsocketParams(
        audio_in_enabled=True,
        audio_in_sample_rate=rates.audio_in,
        audio_out_enabled=True,
        audio_out_sample_rate=rates.audio_out,
        serializer=serializer,
        # The route checks the Origin before accepting the socket.
        allowed_origins=[],
    )


def session_transport(
    websocket: WebSocket, serializer: FrameSerializer, rates: AudioRates
) -> BaseTransport:
    """The transport for one voice session on the accepted `websocket`."""
    return FastAPIWebsocketTransport(
        websocket=websocket, params=websocket_params(serializer, rates)
    )
