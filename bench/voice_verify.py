"""`--verify`: what the project's Whisper hears in each answer, and whether the turn failed.

Run once measuring is done, so transcribing never competes with the app for the CPU.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soxr
from tqdm import tqdm

from bench.voice_turns import TurnSample
from voice.services.whisper_stt import WHISPER_SAMPLE_RATE, default_model_path, load_model

# faster-whisper's own `log_prob_threshold`: below it Whisper deems a decode failed.
LOGPROB_FLOOR = -1.0
_WORD = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class Heard:
    """Whisper's transcript of one answer and its confidence."""

    text: str
    logprob: float | None  # segments' average log probability, weighted by their length


def hear(pcm: bytes, sample_rate: int) -> Heard:
    """Transcribe 16-bit mono PCM at `sample_rate` with the app's Whisper model."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    if sample_rate != WHISPER_SAMPLE_RATE:
        samples = soxr.resample(samples, sample_rate, WHISPER_SAMPLE_RATE)
    segments, _ = load_model(default_model_path()).transcribe(
        samples, language="en", beam_size=1, condition_on_previous_text=False
    )
    segments = list(segments)
    text = " ".join(s.text.strip() for s in segments).strip()
    if not segments:
        return Heard(text, None)
    weights = [max(s.end - s.start, 0.01) for s in segments]
    logprob = sum(s.avg_logprob * w for s, w in zip(segments, weights, strict=True))
    return Heard(text, logprob / sum(weights))


def problem(heard: Heard) -> str | None:
    """Why `heard` makes a failed answer, or None when it is fine."""
    if not _WORD.search(heard.text):
        return "Whisper heard no words in the answer"
    if heard.logprob is not None and heard.logprob < LOGPROB_FLOOR:
        return (
            f"the answer is garbled: Whisper's average log probability {heard.logprob:.2f} "
            f"is under {LOGPROB_FLOOR} ({heard.text[:60]!r})"
        )
    return None


def verify_turns(samples: Sequence[TurnSample]) -> None:
    """Transcribe every good measured answer; a failed check fails its turn. Frees the audio."""
    good = [s for s in samples if s.ok and s.phase == "turn"]
    for sample in tqdm(good, desc="bench.voice verify", unit="answer", leave=False):
        heard = hear(sample.audio, sample.audio_rate)
        sample.transcript, sample.transcript_logprob = heard.text, heard.logprob
        if reason := problem(heard):
            sample.fail(reason)
    for sample in samples:
        sample.audio = b""
