"""`--transport webrtc`: the benchmark's caller as an aiortc peer at `/api/offer`.

`WebRTCClient` wraps the tests' WebRTC caller (`harness.webrtc_peer`) in the part of
`VoiceClient` the benchmark uses. A WebRTC track never stops (the bot sends silence between
answers), so `received.audio` holds only the bot's speech: frames over the caller's
loudness threshold, each at its arrival. The caller opens no RTVI data channel, so an
answer ends on silence alone (`rtvi = False`) and a barge-in is timed by the audio stopping.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

from harness.pipecat_client import MIC_RATE, Received
from harness.speech import resample
from harness.webrtc_peer import WEBRTC_RATE, WebRTCCaller


class WebRTCClient:
    """One WebRTC call, shaped like `harness.pipecat_client.VoiceClient`."""

    rtvi = False

    def __init__(self, caller: WebRTCCaller):
        self.caller = caller
        self.closed = caller.closed

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, http_url: str) -> AsyncIterator[WebRTCClient]:
        """Offer to the app at `http_url` and hold the connected call."""
        async with WebRTCCaller.dial(http_url) as caller:
            yield cls(caller)

    @property
    def received(self) -> Received:
        """The bot's speech so far, in `VoiceClient`'s shape."""
        return Received(audio=[(t, pcm, WEBRTC_RATE) for t, pcm in self.caller.heard.speech])

    async def say(self, pcm: bytes) -> float:
        """Speak 16 kHz `pcm` into the microphone track; when its last frame went out."""
        return await self.caller.say(resample(pcm, MIC_RATE, WEBRTC_RATE))

    async def wait_for(self, kind: str, *, after: float = 0.0, within: float = 30.0) -> float:
        """`bot-ready` only: the call is up once the peer is connected."""
        if kind != "bot-ready":
            raise ValueError(f"this WebRTC caller has no RTVI {kind!r} message")
        return time.monotonic()
