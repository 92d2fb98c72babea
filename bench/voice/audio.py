"""What the benchmark's caller says: synthesized questions, or a recorded WAV, as 16 kHz PCM."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.pipecat_client import MIC_RATE
from harness.speech import pcm_seconds, resample, speak

QUESTIONS = (
    "What is the capital of France?",
    "What is the capital of Italy?",
    "What is the capital of Spain?",
    "What is the capital of Germany?",
    "What is the capital of Japan?",
)
# Requests that the bundled local model answers at its full 100 tokens (about 20 s of speech).
STORY_REQUESTS = (
    "Tell me a long story about a dragon.",
    "Tell me a long story about a lighthouse.",
    "Tell me a long story about a cat.",
)
# One breath with no pause inside, so the VAD hears a single utterance.
INTERRUPTION = "What is the capital of Italy?"

# On the int16 scale: Piper's leading and trailing breaths stay under it, speech does not.
SPEECH_THRESHOLD = 300


class AudioFileError(ValueError):
    """A --audio file that is not a PCM WAV this benchmark can play."""


@dataclass(frozen=True)
class Utterance:
    """Speech to play into the microphone: 16 kHz mono 16-bit PCM and what it says."""

    text: str
    pcm: bytes

    @property
    def seconds(self) -> float:
        """Its length."""
        return pcm_seconds(self.pcm, MIC_RATE)


def synthesized(texts: tuple[str, ...]) -> list[Utterance]:
    """Each text spoken by the bundled Piper voice, silence at either end trimmed."""
    return [Utterance(text, trim_silence(speak(text, MIC_RATE))) for text in texts]


def from_wav(path: Path) -> Utterance:
    """A PCM WAV file mixed down to mono, resampled to 16 kHz and trimmed."""
    try:
        with wave.open(str(path), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as e:
        raise AudioFileError(f"{path}: not a PCM WAV file ({e})") from e
    samples = _to_float(raw, width).reshape(-1, channels).mean(axis=1)
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype(np.int16).tobytes()
    pcm = trim_silence(resample(pcm, rate, MIC_RATE) if rate != MIC_RATE else pcm)
    if not np.any(np.abs(np.frombuffer(pcm, dtype=np.int16)) > SPEECH_THRESHOLD):
        raise AudioFileError(f"{path}: silent (no sample above {SPEECH_THRESHOLD} of 32767)")
    return Utterance(path.name, pcm)


def _to_float(raw: bytes, width: int) -> np.ndarray:
    """PCM samples of `width` bytes as floats in [-1, 1]."""
    if width == 1:  # 8-bit WAV is unsigned
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128) / 128
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return np.where(value >= 1 << 23, value - (1 << 24), value) / float(1 << 23)
    if width == 4:
        return np.frombuffer(raw, dtype="<i4").astype(np.float64) / float(1 << 31)
    raise AudioFileError(f"{width * 8}-bit samples are not supported")


def trim_silence(pcm: bytes, threshold: int = SPEECH_THRESHOLD) -> bytes:
    """16-bit PCM without the quiet before its first and after its last loud sample."""
    samples = np.frombuffer(pcm, dtype=np.int16)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    return samples[loud[0] : loud[-1] + 1].tobytes() if loud.size else pcm
