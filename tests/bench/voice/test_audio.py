"""What the benchmark's caller says: a WAV file becomes 16 kHz mono speech, trimmed."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from bench.voice.audio import from_wav


def test_a_stereo_44k_wav_becomes_trimmed_16k_mono(tmp_path: Path):
    rate = 44100
    tone = (np.sin(2 * np.pi * 440 * np.arange(rate) / rate) * 10000).astype(np.int16)
    quiet = np.zeros(rate // 2, dtype=np.int16)
    left = np.concatenate([quiet, tone, quiet])
    path = tmp_path / "question.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.stack([left, left], axis=1).tobytes())

    utterance = from_wav(path)

    assert utterance.text == "question.wav"
    assert utterance.seconds == pytest.approx(1.0, abs=0.01)  # the silences are gone
    peak = np.abs(np.frombuffer(utterance.pcm, dtype=np.int16)).max()
    assert peak == pytest.approx(10000, rel=0.05)
