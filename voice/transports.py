"""Every transport a voice session can come in on, built in this one place.

`pipecat.runner.utils.create_transport` turns the runner's session arguments into a transport,
given one params factory per transport name. Only `"websocket"` (the `/ws-client` route) is
served now; telephony (`"twilio"`, `"telnyx"`, ... on `/ws`) and WebRTC (`"webrtc"` behind
`/api/offer`) plug in as further entries here, and `create_transport` picks their serializers.
"""

from __future__ import annotations

from collections.abc import Callable

from pipecat.runner.types import RunnerArguments
from pipecat.runner.utils import create_transport
from pipecat.transports.base_transport import BaseTransport, TransportParams
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams

from voice.wire_format import IN_SAMPLE_RATE, OUT_SAMPLE_RATE, ClientFrameSerializer


def transport_params(
    serializer: ClientFrameSerializer,
) -> dict[str, Callable[[], TransportParams]]:
    """Params factories by transport name, as `create_transport` takes them.

    `serializer` is this session's, so the app can read why it rejected a client.
    """
    return {
        "websocket": lambda: FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_in_sample_rate=IN_SAMPLE_RATE,
            audio_out_enabled=True,
            audio_out_sample_rate=OUT_SAMPLE_RATE,
            serializer=serializer,
            # The route checks the Origin before accepting the socket.
            allowed_origins=[],
        ),
    }


async def session_transport(
    runner_args: RunnerArguments, serializer: ClientFrameSerializer
) -> BaseTransport:
    """The transport for one voice session."""
    return await create_transport(runner_args, transport_params(serializer))
