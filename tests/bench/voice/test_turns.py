"""When the caller first hears the bot: the first audible sample, not the first frame."""

import numpy as np
import pytest

from bench.voice.turns import AUDIBLE, first_speech

RATE = 16000


def frame(*parts: tuple[int, int]) -> bytes:
    """40 ms of 16-bit PCM: `(samples, level)` runs, the rest silence."""
    audio = np.zeros(RATE // 25, np.int16)
    at = 0
    for samples, level in parts:
        audio[at : at + samples] = level
        at += samples
    return audio.tobytes()


def test_the_first_audible_sample_of_the_frames():
    frames = [
        (1.00, frame(), RATE),
        (1.04, frame((100, AUDIBLE - 1), (1, -AUDIBLE)), RATE),  # a negative sample counts
        (1.08, frame((640, 5000)), RATE),
    ]

    assert first_speech(frames) == pytest.approx(1.04 + 100 / RATE)


def test_silent_frames_have_no_speech():
    assert first_speech([(1.0, frame((640, AUDIBLE - 1)), RATE), (1.04, frame(), RATE)]) is None
    assert first_speech([]) is None


def test_full_scale_negative_is_audible():
    # -32768 has no positive int16: taken absolute in a wider type.
    assert first_speech([(2.0, frame((1, -32768)), RATE)]) == 2.0
