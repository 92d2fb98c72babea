"""A live microphone or phone line: queued speech sent in real time, silence in between.

Both fake clients (`pipecat_client`, `phone_caller`) talk through one: a frame every
`frame_secs`, paced against the clock (never faster, even after the event loop was held up),
speech when some is queued.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from websockets.exceptions import ConnectionClosed


class LiveLine:
    """Frames of `frame_bytes`, one every `frame_secs`; `fill` pads a last short frame."""

    def __init__(self, frame_bytes: int, frame_secs: float, fill: bytes):
        self._frame_bytes = frame_bytes
        self._frame_secs = frame_secs
        self._fill = fill
        self._speech: asyncio.Queue[tuple[bytes, asyncio.Future[float]]] = asyncio.Queue()

    async def say(self, audio: bytes) -> float:
        """Queue `audio` (already in the line's encoding); returns when its last frame went."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        await self._speech.put((audio, done))
        return await done

    async def run(self, send: Callable[[bytes], Awaitable[None]]) -> None:
        """Send frames with `send` until the connection closes (or the task is cancelled)."""
        loop = asyncio.get_running_loop()
        next_send = loop.time()
        silence = self._fill * self._frame_bytes
        size = self._frame_bytes
        while True:
            audio, done = b"", None
            if not self._speech.empty():
                audio, done = self._speech.get_nowait()
            frames = [audio[i : i + size] for i in range(0, len(audio), size)]
            for frame in frames or [silence]:
                # Never behind the clock: after the loop was held up (a test loading a model
                # in it), catching up would send a burst, faster than any live line.
                next_send = max(next_send, loop.time() - self._frame_secs) + self._frame_secs
                await asyncio.sleep(max(0.0, next_send - loop.time()))
                try:
                    await send(frame.ljust(size, self._fill))
                except ConnectionClosed:
                    return
            if done is not None:
                done.set_result(time.monotonic())
