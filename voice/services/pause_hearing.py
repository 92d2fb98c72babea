"""Hear a speech segment from the caller's first pause, before the VAD calls it ended.

Pipecat hands a segmented STT its segment when the VAD has heard `stop_secs` (0.2 s) of
silence; Whisper then takes 120-340 ms on two cores (a 15 s or 30 s window). A second VAD on
the same audio with a shorter stop (0.1 s) marks the pause sooner: the segment so far is
heard then, off the event loop. When the VAD's segment arrives and
starts with exactly that audio, and no speech was heard in between, its transcript is the
early one, 0.1 s sooner; the 0.1 s more of silence is the only difference. When the caller
speaks again first, the early hearing is dropped (its thread runs out; one at a time, so a
caller who pauses often does not queue them) and the segment is heard as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADState

PAUSE_SECS = 0.1
"""Silence that marks a pause: three of Silero's 32 ms windows."""


@dataclass(frozen=True)
class _Early:
    speech: bytes
    text: asyncio.Future[str]


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
            self._early = None  # speech again: the segment goes on
        elif (
            self._state == VADState.QUIET
            and previous in (VADState.SPEAKING, VADState.STOPPING)
            and segment
            and (self._running is None or self._running.done())
        ):
            speech = bytes(segment)
            loop = asyncio.get_running_loop()
            self._running = loop.run_in_executor(None, self._transcribe, speech)
            self._running.add_done_callback(_retrieve)  # a dropped one's error is not news
            self._early = _Early(speech, self._running)

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
        self._early = None
        await self._vad.cleanup()


def _retrieve(future: asyncio.Future[str]) -> None:
    if not future.cancelled():
        future.exception()
