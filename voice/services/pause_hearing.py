"""Hear a speech segment from the caller's first pause, before the VAD calls it ended.

Pipecat hands a segmented STT its segment when the VAD has heard `stop_secs` (0.2 s) of
silence; Whisper then takes 120-340 ms on two cores (a 15 s or 30 s window). A second VAD on
the same audio with a shorter stop (`PAUSE_SECS`, one of Silero's windows) marks the pause
sooner: the segment so far is heard then, off the event loop. When the VAD's segment arrives
and starts with exactly that audio, and no speech was heard in between, its transcript is
the early one; the silence after the pause is the only difference. When the caller speaks
again first, the early hearing is dropped and the segment goes on.

One hearing runs at a time, so a caller who pauses often does not pile them up on the
cores. A pause that comes while a dropped hearing still runs is heard as soon as that one
ends (unless the caller speaks again before): it does not wait for the VAD's stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADState

PAUSE_SECS = 0.032
"""Silence that marks a pause: one of Silero's 32 ms windows under its thresholds.

Measured with `python -m bench.voice -n 8` (three rounds alternating 0.1, 0.064 and 0.032 s):
the transcript came 145/146/160 ms p50 after the VAD's stop with three windows, 135/142/138
with two, 86/81/110 with one. On 30 Piper-spoken questions with Piper's own variation, Whisper
heard the same words from the segment cut at either pause (nothing clipped off their ends);
one window marked one pause more than three did inside them (at a comma)."""


@dataclass
class _Early:
    speech: bytes
    text: asyncio.Future[str] = field(init=False)
    dropped: bool = False  # the caller spoke again before it was taken


class PauseHearing:
    """Hears each segment at its first pause with `transcribe` (blocking, given the speech so
    far as 16-bit PCM), as `vad` (stop after `PAUSE_SECS`) marks the pauses."""

    def __init__(self, vad: VADAnalyzer, transcribe: Callable[[bytes], str]) -> None:
        self._vad = vad
        self._transcribe = transcribe
        self._state = VADState.QUIET
        self._early: _Early | None = None
        self._running: asyncio.Future[str] | None = None

    def set_sample_rate(self, sample_rate: int) -> None:
        """The input's rate, once the pipeline starts."""
        self._vad.set_sample_rate(sample_rate)

    async def hear(self, audio: bytes, segment: bytes | bytearray) -> None:
        """Take the next input `audio`; `segment` is the caller's speech so far (empty when
        the VAD says nobody speaks)."""
        previous, self._state = self._state, await self._vad.analyze_audio(audio)
        if self._state in (VADState.STARTING, VADState.SPEAKING):
            self._drop()  # speech again: the segment goes on
        elif (
            self._state == VADState.QUIET
            and previous in (VADState.SPEAKING, VADState.STOPPING)
            and segment
        ):
            early = _Early(bytes(segment))
            early.text = asyncio.ensure_future(self._hear_when_free(early))
            early.text.add_done_callback(_retrieve)  # a dropped one's error is not news
            self._early = early

    def take(self, segment: bytes) -> asyncio.Future[str] | None:
        """The early transcript of `segment` when one was started on exactly its start, else
        None."""
        early = self._early
        if early is None or not segment.startswith(early.speech):
            return None
        self._early = None
        return early.text

    async def cleanup(self) -> None:
        """Stop the VAD's thread; an early hearing still running finishes on its own."""
        self._drop()
        await self._vad.cleanup()

    def _drop(self) -> None:
        if self._early is not None:
            self._early.dropped = True
            self._early = None

    async def _hear_when_free(self, early: _Early) -> str:
        """`early`'s transcript, heard once no other hearing runs; "" if it was dropped by
        then. A hearing runs to its end (shielded) even when its waiter gives up."""
        while self._running is not None and not self._running.done():
            await asyncio.wait([self._running])
        if early.dropped:
            return ""
        loop = asyncio.get_running_loop()
        self._running = loop.run_in_executor(None, self._transcribe, early.speech)
        self._running.add_done_callback(_retrieve)
        return await asyncio.shield(self._running)


def _retrieve(future: asyncio.Future[str]) -> None:
    if not future.cancelled():
        future.exception()
