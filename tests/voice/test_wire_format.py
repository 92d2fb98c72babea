"""The `/ws-client` serializer decodes the JS client's frames and rejects anything else."""

from __future__ import annotations

import json

import pipecat.frames.protobufs.frames_pb2 as frame_protos
import pytest
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    InputAudioRawFrame,
    InputTransportMessageFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
)

from harness.pipecat_client import audio_message, rtvi_message
from voice.wire_format import ClientFrameSerializer, ClientInputError


async def test_decodes_microphone_audio():
    frame = await ClientFrameSerializer().deserialize(audio_message(b"\x01\x00" * 256))

    assert isinstance(frame, InputAudioRawFrame)
    assert (frame.sample_rate, frame.num_channels, len(frame.audio)) == (16000, 1, 512)


async def test_decodes_rtvi_messages():
    frame = await ClientFrameSerializer().deserialize(rtvi_message("client-ready"))

    assert isinstance(frame, InputTransportMessageFrame)
    assert frame.message["type"] == "client-ready"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"\xff\x00garbage", "9 bytes that are not a protobuf frame"),
        (b"", "0 bytes with no known frame field"),
        ("hello", "a text message"),
        (audio_message(b"\x00" * 512, sample_rate=48000), "audio at 48000 Hz with 1 channel"),
        (audio_message(b"\x00" * 512, sample_rate=0), "audio at 0 Hz"),
        (audio_message(b"\x00" * 512, channels=2), "audio at 16000 Hz with 2 channel"),
        (audio_message(b"\x00" * 511), "511 bytes of audio"),
    ],
)
async def test_rejects_what_the_pipeline_cannot_take(message: bytes | str, reason: str):
    serializer = ClientFrameSerializer()

    with pytest.raises(ClientInputError, match=reason):
        await serializer.deserialize(message)

    assert serializer.rejection is not None and reason in serializer.rejection


async def test_sends_bot_audio_and_interruptions():
    serializer = ClientFrameSerializer()

    audio = await serializer.serialize(OutputAudioRawFrame(b"\x00\x01" * 10, 24000, 1))
    interruption = await serializer.serialize(InterruptionFrame())

    assert frame_protos.Frame.FromString(audio).audio.sample_rate == 24000
    assert frame_protos.Frame.FromString(interruption).WhichOneof("frame") == "interruption"


async def test_the_end_of_a_session_is_not_a_frame():
    serializer = ClientFrameSerializer()

    assert await serializer.serialize(EndFrame()) is None
    assert await serializer.serialize(CancelFrame()) is None


def test_rtvi_message_helper_is_json():
    frame = frame_protos.Frame.FromString(rtvi_message("client-ready", {"version": "2.1.0"}))

    assert json.loads(frame.message.data)["data"] == {"version": "2.1.0"}
