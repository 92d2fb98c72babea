"""One speech segment through Whisper in a window shorter than its 30 s (`--stt-window`).

faster-whisper pads every segment's features to Whisper's 30 s window, so the encoder pays
for 30 s however short the question: about 340 ms for a 2 s question with tiny.en on 2 CPU
cores. CTranslate2's encoder takes shorter input, so here a segment is padded to the window
(at least `PAD_SECS` past the speech) and decoded with timestamps on.

The padding is Whisper's own silence, not zeros. Its features are log mel energies floored 8
below the loudest and scaled, so silence sits 2 below the maximum feature; faster-whisper pads
with 0, a steady hum to the model. In 30 s that hum is mostly ignored; in a short window it
made words flip with where the segment starts: "What is the capital of France?" after 0.08,
0.096 or 0.16 s of silence was "capital of friends" in 15 s (and in 25 s greedy at two of
those), and through the pipeline, whose VAD pre-roll moves the start by a frame, in about
one call in three. Padded with silence it is right at every start from 0 to 1 s in windows
of 6 to 15 s. `python -m bench.stt_window` (80 synthesized questions spoken twice after a
random silence, 1252 words, 2 cores), two runs: 30 s (faster-whisper) 330 and 359 ms p50, 50
and 53 word errors; 15 s greedy 122 and 130 ms, 46 and 56; 10 s 77 ms, 53 and 57; 8 s 63
ms, 64. A beam of 3 adds 40-50 ms and no accuracy. On a slower host, 80 questions spoken three
times (1878 words), two runs: 15 s 234 ms p50, 87 and 83 word errors; 12 s 211 and 209 ms,
84 and 88; 10 s 188 ms, 93. Later, with the decoder on one thread (below), three runs of 12 s
against 8 s (the app's default): 61 and 62 word errors in 1252 words (201 and 169 ms p50),
78 and 80 in 1878 (204 and 170 ms, `--lead 0.5`), 80 and 79 in 1878 (249 and 208 ms): 221
errors in 5008 words against 219, 0.83-0.84x the time. In the first of those runs 6 s and 5 s
took 153 and 152 ms with 66 and 67 errors.

The encoder, one batch of matrix products, runs on two threads; the decoder, a token at a time,
is quicker on one (the same weights loaded again: `whisper_stt.load_decoder`): in one run of 48
questions here, 255 ms p50 all on two threads, 233 ms split (80 ms encoding a 12 s window on
two threads, 116 on one; the decoder's 9 or so tokens 97 ms on two threads, 68 on one).

Timestamps keep it from looping: without them Whisper on a short window repeats itself ("What
is the capital of France? What is the capital of France? ..."). With them it marks each
segment's start and end, and a segment that starts where the speech has already ended (in
the padding) is dropped.
"""

from __future__ import annotations

import math

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer

PAD_SECS = 2.0
LONGEST_SECS = 28.0  # longer segments take faster-whisper's own 30 s windows
_FRAMES_PER_SEC = 100  # Whisper's mel frames
_SECS_PER_TIMESTAMP = 0.02
_TOKENS_PER_SEC = 8  # generous: speech runs at about 3 words a second
_HALLUCINATION_MARGIN_SECS = 0.3  # a segment starting this close to the end is padding's
# Whisper's features are log10 mel energies floored 8 below their maximum, then (x + 4) / 4:
# silence is 2 below the maximum feature, the level Whisper was trained to hear as silence.
_SILENCE_BELOW_MAX = 2.0
_LOOP_TOKENS = 3  # an open segment whose first three tokens come again has started over


def transcribe_short(
    model: WhisperModel,
    samples: np.ndarray,
    language: str | None,
    beam_size: int,
    window_secs: float,
    decoder: ctranslate2.models.Whisper | None = None,
) -> tuple[str, float]:
    """The text of `samples` (16 kHz float32, at most `LONGEST_SECS`) heard in a window of
    `window_secs` (longer when the speech needs it), and Whisper's probability that there
    was no speech at all. With `decoder` (the same weights on one thread), the model encodes
    and `decoder` decodes."""
    features = model.feature_extractor(samples)  # (mels, frames), no padding to 30 s
    frames = features.shape[-1]
    secs = max(window_secs, math.ceil(frames / _FRAMES_PER_SEC + PAD_SECS))
    window = int(min(secs * _FRAMES_PER_SEC, 3000))
    features = np.pad(
        features[:, :window],
        ((0, 0), (0, max(0, window - frames))),
        constant_values=features.max() - _SILENCE_BELOW_MAX,
    )
    tokenizer = Tokenizer(
        model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language
    )
    prompt = list(tokenizer.sot_sequence)
    speech_secs = frames / _FRAMES_PER_SEC
    inputs = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None], np.float32))
    if decoder is not None:
        inputs = model.model.encode(inputs, to_cpu=False)
    [result] = (decoder or model.model).generate(
        inputs,
        [prompt],
        beam_size=beam_size,
        max_length=len(prompt) + int(speech_secs * _TOKENS_PER_SEC) + 10,
        return_no_speech_prob=True,
        suppress_blank=True,
        suppress_tokens=[-1],
    )
    text = tokenizer.decode(_spoken_tokens(result.sequences_ids[0], tokenizer, speech_secs))
    return text.strip(), result.no_speech_prob


def _spoken_tokens(ids: list[int], tokenizer: Tokenizer, speech_secs: float) -> list[int]:
    """The text tokens of the segments that start before the speech ends, up to the first
    segment that only repeats the start of an earlier one (Whisper looping in the padding);
    a last segment left open is cut where it starts over."""
    segments: list[list[int]] = []
    current: list[int] | None = None
    for token in ids:
        if token >= tokenizer.timestamp_begin:
            at = (token - tokenizer.timestamp_begin) * _SECS_PER_TIMESTAMP
            if current is not None:  # its end
                segments.append(current)
                current = None
            elif at >= speech_secs - _HALLUCINATION_MARGIN_SECS:
                break  # a segment starting in the padding
            else:
                current = []
        elif token < tokenizer.eot and current is not None:
            current.append(token)
    if current:
        segments.append(_unlooped(current))  # a last segment the length cap left open
    kept: list[list[int]] = []
    for segment in segments:
        if any(earlier[: len(segment)] == segment for earlier in kept):
            break
        kept.append(segment)
    return [token for segment in kept for token in segment]


def _unlooped(segment: list[int]) -> list[int]:
    """`segment` up to where it starts over: a segment Whisper never closed loops ("What is
    the capital of France? What is the capital"). Its second to fourth tokens coming again
    mark the new start (the first may come back capitalized: "and how ... And how")."""
    head = segment[1 : 1 + _LOOP_TOKENS]
    if len(head) < _LOOP_TOKENS:
        return segment
    for at in range(1, len(segment) - _LOOP_TOKENS):
        if segment[at + 1 : at + 1 + _LOOP_TOKENS] == head:
            return segment[:at]
    return segment
