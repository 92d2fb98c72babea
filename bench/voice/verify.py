"""`--verify`: what the project's Whisper hears in each answer, and whether the turn failed.

Run once measuring is done, so transcribing never competes with the app for the CPU.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tqdm import tqdm

from bench.voice.turns import TurnSample
from harness.speech import Heard, hear

# faster-whisper's own `log_prob_threshold`: below it Whisper deems a decode failed.
LOGPROB_FLOOR = -1.0
_WORD = re.compile(r"[A-Za-z]+")


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
