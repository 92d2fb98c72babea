"""The VAD whose volume gate opens at once: sooner starts after a silent line, the same ends."""

from __future__ import annotations

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADState

from harness.speech import speak
from voice.fast_attack_vad import FastAttackSileroVAD
from voice.turn_taking import VAD_PARAMS

WINDOW = 512  # bytes: 16 ms at 16 kHz, as a microphone sends it
SILENCE = bytes(16000)  # 0.5 s of a silent line


async def heard(vad: VADAnalyzer, pcm: bytes) -> tuple[float | None, float | None]:
    """Seconds of `pcm` (16 kHz) fed when `vad` first says the caller is speaking, and when it
    next says they are quiet: None for what never came."""
    vad.set_sample_rate(16000)
    fed, started = 0.0, None
    for i in range(0, len(pcm), WINDOW):
        fed += len(pcm[i : i + WINDOW]) / 2 / 16000
        state = await vad.analyze_audio(pcm[i : i + WINDOW])
        if started is None and state == VADState.SPEAKING:
            started = fed
        elif started is not None and state == VADState.QUIET:
            return started, fed
    return started, None


def scaled(pcm: bytes, db: float) -> bytes:
    samples = np.frombuffer(pcm, dtype=np.int16) * 10 ** (db / 20)
    return samples.astype(np.int16).tobytes()


async def test_a_caller_on_a_silent_line_starts_four_windows_sooner_and_ends_the_same():
    word = SILENCE + speak("Stop.", 16000) + SILENCE  # its speech starts 1 ms in

    ours = await heard(FastAttackSileroVAD(params=VAD_PARAMS), word)
    pipecats = await heard(SileroVADAnalyzer(params=VAD_PARAMS), word)

    assert ours[0] is not None and pipecats[0] is not None
    # start_secs and Silero's first window of the word: no wait on the volume
    assert ours[0] - len(SILENCE) / 32000 <= VAD_PARAMS.start_secs + 0.064
    # Pipecat's smoothed volume takes four more 32 ms windows to pass min_volume
    assert pipecats[0] - ours[0] == pytest.approx(0.128, abs=0.001)
    assert ours[1] == pipecats[1] is not None


async def test_a_caller_30_db_down_still_starts_and_40_db_down_does_not():
    speech = speak("Stop.", 16000)
    soft, too_quiet = (SILENCE + scaled(speech, db) + SILENCE for db in (-30, -40))

    assert (await heard(FastAttackSileroVAD(params=VAD_PARAMS), soft))[0] is not None
    assert await heard(FastAttackSileroVAD(params=VAD_PARAMS), too_quiet) == (None, None)
    assert await heard(SileroVADAnalyzer(params=VAD_PARAMS), too_quiet) == (None, None)
