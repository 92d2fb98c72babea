"""Whisper's window: how long each question takes to hear, and how many words it gets wrong.

faster-whisper pads every speech segment to Whisper's 30 s window; `--stt-window` hears it in
a shorter one (`voice.services.whisper_short`), faster and, Whisper having been trained on 30
s, possibly less accurate. This speaks every utterance in `utterances.py` with Piper (its
noise on, so each pass sounds a little different), then hears each in every window in turn
with the app's own transcription function (`voice.services.whisper_stt._transcribe`, with
the 0.5 s of trailing silence Pipecat adds, and a leading silence of 0 to `--lead` seconds,
as where the VAD's pre-roll starts the segment varies by a frame or more), interleaved so
drift on a shared machine hits every window alike. It prints the time per question and the
word error rate per window, side by side with the ratios over the first window, and the
words each window got wrong. A window may name its beam width after a colon (greedy, 1, by
default). Example:

    python -m bench.stt_window --windows 30,15,15:3 --passes 2
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from bench.stats import format_table, summarize
from bench.stt_window.utterances import UTTERANCES
from bench.stt_window.word_errors import WordErrors, word_errors
from harness.speech import resample
from voice.services.piper_tts import default_voice_paths, load_voice
from voice.services.whisper_stt import (
    WHISPER_SAMPLE_RATE,
    _transcribe,
    default_model_path,
    load_model,
)

TRAILING_SILENCE = bytes(WHISPER_SAMPLE_RATE)  # Pipecat's 0.5 s, 16-bit


def spoken(text: str, lead_secs: float = 0.0) -> bytes:
    """`text` in the bundled voice, noise on, as 16 kHz PCM after `lead_secs` of silence and
    before the trailing silence."""
    voice = load_voice(*default_voice_paths())
    pcm = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(text))
    lead = bytes(2 * int(lead_secs * WHISPER_SAMPLE_RATE))
    return lead + resample(pcm, voice.config.sample_rate, WHISPER_SAMPLE_RATE) + TRAILING_SILENCE


@dataclass(frozen=True)
class Window:
    """Whisper's window in seconds, and its beam width."""

    secs: float
    beam: int = 1

    @property
    def label(self) -> str:
        return f"{self.secs:g} s" + (f", beam {self.beam}" if self.beam > 1 else "")


def parse_window(text: str) -> Window:
    """`SECS` or `SECS:BEAM`: 2 to 30 seconds, a beam of 1 to 10."""
    secs, _, beam = text.partition(":")
    try:
        window = Window(float(secs), int(beam or 1))
    except ValueError:
        raise ValueError(f"{text!r}: a window is SECS or SECS:BEAM") from None
    if not 2 <= window.secs <= 30 or not 1 <= window.beam <= 10:
        raise ValueError(f"{text!r}: a window is 2 to 30 seconds, its beam 1 to 10")
    return window


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.stt_window",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--windows",
        default="30,20,15,12",
        help="comma-separated windows, SECS (2 to 30) or SECS:BEAM; the first is the "
        "baseline (default %(default)s)",
    )
    parser.add_argument("--passes", type=int, default=2, help="times each utterance is spoken")
    parser.add_argument(
        "--lead",
        type=float,
        default=0.3,
        help="longest leading silence, seconds: each utterance gets a random one up to it "
        "(seeded; default %(default)s)",
    )
    parser.add_argument(
        "--limit", type=int, default=len(UTTERANCES), help="use only the first N utterances"
    )
    args = parser.parse_args(argv)
    try:
        windows = [parse_window(w) for w in args.windows.split(",") if w.strip()]
    except ValueError as e:
        parser.error(f"--windows: {e}")
    if not windows:
        parser.error("--windows: name at least one")
    texts = UTTERANCES[: args.limit] * args.passes

    model = load_model(default_model_path())
    times: dict[Window, list[float]] = {w: [] for w in windows}
    errors = {w: WordErrors(0, 0) for w in windows}
    wrong: dict[Window, list[str]] = {w: [] for w in windows}
    _transcribe(model, spoken("Hello."), WHISPER_SAMPLE_RATE, "en", 1, 0.4)  # warm up
    leads = np.random.default_rng(0).uniform(0, args.lead, len(texts))
    for text, lead in tqdm(
        zip(texts, leads, strict=True), desc="stt windows", total=len(texts), file=sys.stderr
    ):
        pcm = spoken(text, lead)
        for window in windows:
            start = time.perf_counter()
            heard = _transcribe(
                model, pcm, WHISPER_SAMPLE_RATE, "en", window.beam, 0.4, window.secs
            )
            times[window].append((time.perf_counter() - start) * 1000)
            counted = word_errors(text, heard)
            errors[window] += counted
            if counted.errors:
                wrong[window].append(f"{text!r} heard as {heard!r}")

    rows = [
        summarize(w.label, "time to hear", times[w], ok=len(times[w]), failed=0) for w in windows
    ]
    print(
        f"bench.stt_window: {len(texts)} utterances ({args.passes} passes, leading silence "
        f"up to {args.lead:g} s), Whisper tiny.en"
    )
    print(format_table(rows))
    print()
    base = windows[0]
    for window in windows:
        e = errors[window]
        speed = np.median(times[window]) / np.median(times[base])
        print(
            f"window {window.label}: word error rate {e.rate:.2%} ({e.errors} of "
            f"{e.said} words), time p50 {speed:.2f}x of {base.label}'s"
        )
    for window in windows:
        print(f"\nwrong in {window.label} ({len(wrong[window])}):")
        for line in wrong[window]:
            print(f"  {line}")


if __name__ == "__main__":
    main()
