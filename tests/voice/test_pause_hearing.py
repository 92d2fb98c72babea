"""Whisper hears a segment from the caller's first pause (`voice.services.pause_hearing`):
the real service, Silero and Whisper in a Pipecat pipeline, fed the frames a call sends."""

from __future__ import annotations

import time

import pytest
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.tests.utils import run_test

from harness.speech import QUESTION, START_TIMEOUT, speak
from voice.services.whisper_stt import WhisperSTTService
from voice.settings import Settings
from voice.turn_taking import pause_vad

RATE = 16000
CHUNK = 640  # 20 ms, as the transports send it
BEFORE = 0.3  # seconds of silence before the first segment (all of it kept as pre-roll)


class HeardService(WhisperSTTService):
    """The real service, noting the length of each segment Whisper is given."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.heard: list[int] = []

    def _hear(self, audio: bytes) -> str:
        self.heard.append(len(audio))
        return super()._hear(audio)


def audio_frames(pcm: bytes) -> list[Frame]:
    return [
        InputAudioRawFrame(pcm[i : i + CHUNK], sample_rate=RATE, num_channels=1)
        for i in range(0, len(pcm), CHUNK)
    ]


def silence(secs: float) -> bytes:
    return bytes(2 * int(secs * RATE))


async def transcripts(service: WhisperSTTService, *segments: bytes) -> list[str]:
    """Each segment said as a call says it: the VAD's start, the audio, 0.2 s of silence
    (the VAD's stop time) and its stop, then a second of silence."""
    frames: list[Frame] = audio_frames(silence(BEFORE))
    for pcm in segments:
        frames += [VADUserStartedSpeakingFrame(), *audio_frames(pcm + silence(0.2))]
        frames += [VADUserStoppedSpeakingFrame(), *audio_frames(silence(1.0))]
    down, _ = await run_test(service, frames_to_send=frames, start_timeout=START_TIMEOUT)
    return [f.text for f in down if isinstance(f, TranscriptionFrame)]


def vads_segment(pcm: bytes) -> int:
    """The bytes of the segment the VAD's stop hands over: pre-roll, speech, the 0.2 s stop
    time and Pipecat's 0.5 s of trailing silence."""
    return len(silence(BEFORE)) + len(pcm) + len(silence(0.2)) + len(silence(0.5))


@pytest.fixture(scope="module")
def question() -> bytes:
    return speak(QUESTION, RATE)


async def test_a_segment_is_heard_from_the_first_pause(question: bytes):
    service = HeardService(pause_vad=pause_vad(Settings()))

    said = await transcripts(service, question)

    assert said == ["What is the capital of France?"]
    # Once, and on less than the VAD's segment: the audio up to the pause.
    assert len(service.heard) == 1
    assert service.heard[0] <= vads_segment(question) - len(silence(0.09)), service.heard


async def test_speech_after_the_pause_is_heard_too(question: bytes):
    """A pause of 0.15 s is a pause to the early hearing, not to the VAD: the segment goes
    on, and its transcript has both halves."""
    service = HeardService(pause_vad=pause_vad(Settings()))

    said = await transcripts(service, question + silence(0.15) + question)

    assert len(said) == 1
    assert said[0].lower().count("capital") == 2, said
    assert len(service.heard) == 2  # the early hearing, dropped, then the whole segment


class SlowFirstHearing(HeardService):
    """The first hearing takes a second longer, as on cores busy with another call."""

    def _hear(self, audio: bytes) -> str:
        if not self.heard:
            time.sleep(1.0)
        return super()._hear(audio)


async def test_a_pause_while_a_dropped_hearing_runs_is_heard_when_it_ends(question: bytes):
    """The first pause's hearing is dropped (speech again) but still running when the last
    pause comes: the last pause is heard once it ends, on the audio up to that pause, and the
    VAD's segment is not heard again."""
    service = SlowFirstHearing(pause_vad=pause_vad(Settings()))
    said_twice = question + silence(0.15) + question

    said = await transcripts(service, said_twice)

    assert len(said) == 1
    assert said[0].lower().count("capital") == 2, said
    assert len(service.heard) == 2, service.heard
    assert len(question) < service.heard[0] < len(said_twice), service.heard
    assert service.heard[1] <= vads_segment(said_twice) - len(silence(0.09)), service.heard


async def test_of_the_pauses_while_a_hearing_runs_only_the_last_is_heard(question: bytes):
    """Pauses that speech followed while the first hearing ran are never heard at all."""
    service = SlowFirstHearing(pause_vad=pause_vad(Settings()))
    said_thrice = question + silence(0.15) + question + silence(0.15) + question

    said = await transcripts(service, said_thrice)

    assert len(said) == 1
    assert said[0].lower().count("capital") == 3, said
    assert len(service.heard) == 2, service.heard
    assert service.heard[1] > len(question) * 3, service.heard  # the whole, up to the pause


async def test_without_a_pause_vad_the_segment_is_heard_at_the_vads_stop(question: bytes):
    service = HeardService(pause_vad=pause_vad(Settings(hear_at_pause=False)))

    said = await transcripts(service, question)

    assert said == ["What is the capital of France?"]
    assert service.heard == [vads_segment(question)]
