"""A Python stand-in for `@pipecat-ai/websocket-transport`, speaking Pipecat's protobuf frames.

It does what the JS client does on the wire: sends RTVI `client-ready`, streams microphone
audio as 16 kHz mono 16-bit frames of 512 bytes in real time (silence between utterances,
as a live microphone does), and records every frame the bot sends back with its arrival time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field

import pipecat.frames.protobufs.frames_pb2 as frame_protos
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from harness.live_line import LiveLine

MIC_RATE = 16000
CHUNK_BYTES = 512  # what the JS client's WavMediaManager(512, 16000) sends
CHUNK_SECS = CHUNK_BYTES / 2 / MIC_RATE
ABOUT = {"library": "tests.voice.pipecat_client", "library_version": "0"}


@dataclass
class Received:
    """Everything the bot sent, each with its `time.monotonic()` arrival."""

    audio: list[tuple[float, bytes, int]] = field(default_factory=list)
    messages: list[tuple[float, dict]] = field(default_factory=list)
    interruptions: list[float] = field(default_factory=list)

    def rtvi(self, kind: str, after: float = 0.0) -> list[float]:
        """Arrival times of RTVI messages of type `kind` after `after`."""
        return [t for t, m in self.messages if m.get("type") == kind and t > after]

    def audio_between(self, start: float, end: float = float("inf")) -> bytes:
        """The bot's PCM that arrived in [start, end)."""
        return b"".join(a for t, a, _ in self.audio if start <= t < end)


def audio_message(pcm: bytes, sample_rate: int = MIC_RATE, channels: int = 1) -> bytes:
    """One protobuf audio frame, as the JS client sends microphone audio."""
    frame = frame_protos.Frame()
    frame.audio.audio = pcm
    frame.audio.sample_rate = sample_rate
    frame.audio.num_channels = channels
    return frame.SerializeToString()


def rtvi_message(kind: str, data: dict | None = None) -> bytes:
    """One RTVI client message inside a protobuf message frame."""
    frame = frame_protos.Frame()
    message = {"label": "rtvi-ai", "type": kind, "id": uuid.uuid4().hex[:8], "data": data or {}}
    frame.message.data = json.dumps(message)
    return frame.SerializeToString()


class VoiceClient:
    """One connection to `/ws-client`: a live microphone and a recording speaker."""

    def __init__(self, ws: ClientConnection):
        self.ws = ws
        self.received = Received()
        self.closed = asyncio.Event()
        self._microphone = LiveLine(CHUNK_BYTES, CHUNK_SECS, b"\x00")
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, url: str, *, microphone: bool = True):
        """Connect, say `client-ready`, and stream the microphone until the block ends."""
        async with connect(url, max_size=None) as ws:
            client = cls(ws)
            client._tasks.append(asyncio.create_task(client._receive()))
            await ws.send(rtvi_message("client-ready", {"version": "2.1.0", "about": ABOUT}))
            if microphone:
                client._tasks.append(asyncio.create_task(client._microphone.run(client._send)))
            try:
                yield client
            finally:
                for task in client._tasks:
                    task.cancel()
                await asyncio.gather(*client._tasks, return_exceptions=True)

    async def say(self, pcm: bytes) -> float:
        """Speak `pcm` (16 kHz mono) into the microphone; returns when its last chunk went out."""
        return await self._microphone.say(pcm)

    async def _send(self, chunk: bytes) -> None:
        await self.ws.send(audio_message(chunk))

    async def wait_for(self, kind: str, *, after: float = 0.0, within: float = 30.0) -> float:
        """Wait for an RTVI message of type `kind` arriving after `after`; its arrival time."""
        deadline = time.monotonic() + within
        while not (times := self.received.rtvi(kind, after)):
            if time.monotonic() > deadline:
                seen = [m.get("type") for _, m in self.received.messages]
                raise TimeoutError(f"no {kind!r} after {after} within {within}s; saw {seen}")
            if self.closed.is_set():
                raise ConnectionError(f"closed while waiting for {kind!r}")
            await asyncio.sleep(0.02)
        return times[0]

    async def _receive(self) -> None:
        try:
            async for data in self.ws:
                now = time.monotonic()
                frame = frame_protos.Frame.FromString(data)
                kind = frame.WhichOneof("frame")
                if kind == "audio":
                    self.received.audio.append((now, frame.audio.audio, frame.audio.sample_rate))
                elif kind == "message":
                    self.received.messages.append((now, json.loads(frame.message.data)))
                elif kind == "interruption":
                    self.received.interruptions.append(now)
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
