"""The `/ws-client` wire format: Pipecat's protobuf frames, with client input held to spec.

`ProtobufFrameSerializer` is what the official `@pipecat-ai/websocket-transport` speaks. On
its own it lets a bad client through: undecodable bytes raise deep in the transport, frames
with no known field are dropped one by one, and audio at any sample rate flows on to the VAD
and STT, which assume 16 kHz mono. Here every such message raises `ClientInputError`, which
ends that client's session (the transport stops reading and reports a disconnect) and is kept
as `rejection` so the session can log it and tell the client why.
"""

from __future__ import annotations

import pipecat.frames.protobufs.frames_pb2 as frame_protos
from google.protobuf.message import DecodeError
from pipecat.frames.frames import CancelFrame, EndFrame, Frame, InputAudioRawFrame
from pipecat.serializers.protobuf import ProtobufFrameSerializer

IN_SAMPLE_RATE = 16000
IN_CHANNELS = 1
OUT_SAMPLE_RATE = 24000  # what the JS client plays, whatever a frame says


class ClientInputError(ValueError):
    """A client sent a message this endpoint does not take."""


class ClientFrameSerializer(ProtobufFrameSerializer):
    """`ProtobufFrameSerializer` that rejects garbage and audio in any other format."""

    def __init__(self) -> None:
        super().__init__()
        self.rejection: str | None = None

    async def serialize(self, frame: Frame) -> str | bytes | None:
        """Encode `frame` for the client; the end of a session has no frame of its own."""
        if isinstance(frame, (EndFrame, CancelFrame)):
            return None  # the transport offers these so phone serializers can hang up
        return await super().serialize(frame)

    async def deserialize(self, data: str | bytes) -> Frame | None:
        """Decode one client message, or raise `ClientInputError` (also kept as `rejection`)."""
        try:
            return await self._deserialize(data)
        except ClientInputError as e:
            self.rejection = str(e)
            raise

    async def _deserialize(self, data: str | bytes) -> Frame | None:
        if not isinstance(data, bytes):
            raise ClientInputError("a text message; this endpoint takes binary protobuf frames")
        try:
            kind = frame_protos.Frame.FromString(data).WhichOneof("frame")  # type: ignore[attr-defined]
        except DecodeError as e:
            raise ClientInputError(f"{len(data)} bytes that are not a protobuf frame") from e
        if kind is None:
            raise ClientInputError(f"{len(data)} bytes with no known frame field")
        frame = await super().deserialize(data)
        if isinstance(frame, InputAudioRawFrame):
            check_audio(frame)
        return frame


def check_audio(frame: InputAudioRawFrame) -> None:
    """Raise `ClientInputError` unless `frame` is 16 kHz mono 16-bit PCM."""
    if frame.sample_rate != IN_SAMPLE_RATE or frame.num_channels != IN_CHANNELS:
        raise ClientInputError(
            f"audio at {frame.sample_rate} Hz with {frame.num_channels} channel(s); "
            f"this endpoint takes {IN_SAMPLE_RATE} Hz mono 16-bit PCM"
        )
    if len(frame.audio) % 2:
        raise ClientInputError(f"{len(frame.audio)} bytes of audio: not whole 16-bit samples")
