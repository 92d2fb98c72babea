"""Every transport a voice session can come in on, built in this one place.

Both websocket routes run a `FastAPIWebsocketTransport` with the same audio settings and
differ only in the serializer: `/ws-client` speaks Pipecat's protobuf frames, `/ws` a phone
provider's media stream (`voice.phone.call`). The pipeline always runs at 16 kHz in and
24 kHz out; a phone serializer converts to and from the call's 8 kHz mu-law itself.
`pipecat.runner.utils.create_transport` is not used: for a phone call it builds its own
serializer from `TWILIO_*` variables, with hang-up on.
"""

from __future__ import annotations

from fastapi import WebSocket
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.transports.base_transport import BaseTransport
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport

from voice.wire_format import IN_SAMPLE_RATE, OUT_SAMPLE_RATE


def websocket_params(serializer: FrameSerializer) -> FastAPIWebsocketParams:
    """Transport params for one websocket session spoken through `serializer`."""
    return FastAPIWebsocketParams(
        audio_in_enabled=True,
        audio_in_sample_rate=IN_SAMPLE_RATE,
        audio_out_enabled=True,
        audio_out_sample_rate=OUT_SAMPLE_RATE,
        serializer=serializer,
        # The route checks the Origin before accepting the socket.
        allowed_origins=[],
    )


def session_transport(websocket: WebSocket, serializer: FrameSerializer) -> BaseTransport:
    """The transport for one voice session on the accepted `websocket`."""
    return FastAPIWebsocketTransport(websocket=websocket, params=websocket_params(serializer))
