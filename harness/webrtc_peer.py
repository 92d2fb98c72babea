"""A WebRTC caller: an aiortc peer that offers at `/api/offer` as the official
`@pipecat-ai/small-webrtc-transport` client does, speaks into a 48 kHz microphone track in
real time (silence between utterances), and records the bot's track with arrival times.

On loopback only: `loopback_ice()` makes aioice offer 127.0.0.1 (it skips loopback), and the
peer names no STUN server (aiortc's default is a public one).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from dataclasses import dataclass, field

import aioice.ice
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from harness.http_json import post_json

WEBRTC_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz, what a browser's Opus encoder takes
SPEECH_RMS = 300.0  # a 20 ms frame louder than this (16-bit RMS) is the bot talking


def loopback_ice() -> None:
    """Make aioice (in this process) gather 127.0.0.1 only."""
    aioice.ice.get_host_addresses = lambda **_: ["127.0.0.1"]


class Microphone(MediaStreamTrack):
    """A live microphone: queued speech (48 kHz 16-bit mono), else silence, in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: list[tuple[bytes, asyncio.Future[float]]] = []
        self._playing: tuple[bytes, asyncio.Future[float]] | None = None
        self._offset = 0
        self._samples = 0
        self._start: float | None = None

    async def say(self, pcm: bytes) -> float:
        """Speak `pcm`; returns (`time.monotonic()`) when its last frame went out."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._queue.append((pcm, done))
        return await done

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._samples / WEBRTC_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        chunk = self._next_chunk()
        frame = av.AudioFrame.from_ndarray(
            np.frombuffer(chunk, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = WEBRTC_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, WEBRTC_RATE)
        self._samples += FRAME_SAMPLES
        return frame

    def _next_chunk(self) -> bytes:
        size = FRAME_SAMPLES * 2
        if self._playing is None and self._queue:
            self._playing, self._offset = self._queue.pop(0), 0
        if self._playing is None:
            return b"\x00" * size
        pcm, done = self._playing
        chunk = pcm[self._offset : self._offset + size]
        self._offset += size
        if self._offset >= len(pcm):
            self._playing = None
            if not done.done():
                done.set_result(time.monotonic())
        return chunk.ljust(size, b"\x00")


@dataclass
class Earpiece:
    """The bot's audio as it arrived: (monotonic time, 48 kHz 16-bit mono PCM) per frame,
    and apart from it the frames louder than `SPEECH_RMS`, the bot talking (not the track's
    silence), each judged once, on arrival."""

    frames: list[tuple[float, bytes]] = field(default_factory=list)
    speech: list[tuple[float, bytes]] = field(default_factory=list)

    def add(self, arrived: float, pcm: bytes) -> None:
        self.frames.append((arrived, pcm))
        if _rms(pcm) > SPEECH_RMS:
            self.speech.append((arrived, pcm))

    def audio_between(self, start: float, end: float = float("inf")) -> bytes:
        return b"".join(pcm for t, pcm in self.frames if start <= t < end)

    def loud_after(self, after: float) -> list[float]:
        """Arrival times of the bot's speech frames after `after`."""
        return [t for t, _ in self.speech if t > after]


class WebRTCCaller:
    """One call: its peer, microphone and earpiece."""

    def __init__(self, peer: RTCPeerConnection, microphone: Microphone):
        self.peer = peer
        self.microphone = microphone
        self.heard = Earpiece()
        self.closed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def dial(cls, http_url: str, offer_url: str | None = None):
        """Offer at `http_url`'s `/api/offer` (or at `offer_url`, such as the one `POST /start`
        answers), connect, and hold the call until the block ends."""
        peer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        microphone = Microphone()
        peer.addTrack(microphone)
        tracks: asyncio.Queue[MediaStreamTrack] = asyncio.Queue()
        peer.on("track", tracks.put_nowait)
        caller = None
        try:
            await peer.setLocalDescription(await peer.createOffer())
            offer = {
                "sdp": peer.localDescription.sdp,
                "type": peer.localDescription.type,
                "requestData": {},
            }
            url = offer_url or f"{http_url}/api/offer"
            answer = await asyncio.to_thread(post_json, url, offer)
            await peer.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
            caller = cls(peer, microphone)
            track = await asyncio.wait_for(tracks.get(), 10)
            caller._tasks.append(asyncio.create_task(caller._listen(track)))
            await caller.wait_until(lambda: peer.connectionState == "connected", within=20)
            yield caller
        finally:
            await peer.close()
            for task in caller._tasks if caller else ():
                task.cancel()

    async def say(self, pcm_48k: bytes) -> float:
        """Speak 48 kHz 16-bit mono `pcm_48k`; when its last frame went out."""
        return await self.microphone.say(pcm_48k)

    async def wait_for_speech(self, *, after: float, within: float) -> float:
        """The arrival of the bot's first loud frame after `after`."""
        found: list[float] = []

        def heard() -> bool:
            found[:] = self.heard.loud_after(after)
            return bool(found)

        await self.wait_until(heard, within=within)
        return found[0]

    async def wait_until(self, condition, *, within: float) -> None:
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"not within {within}s (peer {self.peer.connectionState})")
            await asyncio.sleep(0.02)

    async def _listen(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                now = time.monotonic()
                samples = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0]
                if frame.sample_rate != WEBRTC_RATE:
                    raise ValueError(f"bot audio at {frame.sample_rate} Hz")
                self.heard.add(now, samples.astype(np.int16).tobytes())
        except Exception:  # the track ends when the call does (MediaStreamError)
            pass
        finally:
            self.closed.set()


def _rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(np.frombuffer(pcm, np.int16) ** 2.0))) if pcm else 0.0
