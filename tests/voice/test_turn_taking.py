"""The turn strategies and VAD each session gets."""

from __future__ import annotations

import numpy as np
import pytest
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.turns.user_stop import (
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)

from harness.speech import speak
from tests.voice.test_fast_attack_vad import SILENCE, heard
from voice.fast_attack_vad import FastAttackSileroVAD
from voice.settings import Settings
from voice.turn_taking import VAD_PARAMS, turn_stop_strategy, user_turn_params


def test_silence_ends_a_turn_by_default():
    strategy = turn_stop_strategy(Settings(speech_timeout=0.4, early_answer=False))

    assert isinstance(strategy, SpeechTimeoutUserTurnStopStrategy)
    assert strategy._user_speech_timeout == 0.4


def test_smart_turn_on_request():
    strategy = turn_stop_strategy(Settings(turn_stop="smart-turn"))

    assert isinstance(strategy, TurnAnalyzerUserTurnStopStrategy)


def test_params_carry_silero_vad_and_the_stop_strategy():
    params = user_turn_params(Settings())

    assert isinstance(params.vad_analyzer, FastAttackSileroVAD)
    assert params.vad_analyzer.params == VAD_PARAMS
    later = user_turn_params(Settings(vad_start=0.2)).vad_analyzer
    assert later is not None and later.params.start_secs == 0.2
    assert params.user_turn_strategies is not None
    [stop] = params.user_turn_strategies.stop or []
    assert isinstance(stop, SpeechTimeoutUserTurnStopStrategy)


async def first_speech(pcm: bytes, params: VADParams) -> float | None:
    """Seconds of `pcm` (16 kHz) the session's VAD hears before it says the caller speaks."""
    return (await heard(FastAttackSileroVAD(params=params), pcm))[0]


def white_noise(seconds: float, db: float) -> bytes:
    samples = np.random.default_rng(7).normal(0, 1, int(16000 * seconds))
    samples *= 32767 * 10 ** (db / 20) / np.sqrt(np.mean(samples**2))
    return np.clip(samples, -32767, 32767).astype(np.int16).tobytes()


def tone(seconds: float, *hertz: float) -> bytes:
    """Sine tones at full level together: one is a beep, 697 and 1209 Hz a DTMF "1"."""
    t = np.arange(int(16000 * seconds)) / 16000
    samples = sum(np.sin(2 * np.pi * f * t) for f in hertz) / len(hertz)
    return (samples * 0.7 * 32767).astype(np.int16).tobytes()


async def test_a_word_barges_in_four_windows_sooner_than_pipecats_default():
    word = SILENCE + speak("Stop.", 16000) + SILENCE

    ours = await first_speech(word, VAD_PARAMS)
    pipecats = await first_speech(word, VADParams(confidence=0.7, min_volume=0.6))

    assert ours is not None and pipecats is not None
    assert pipecats - ours == pytest.approx(0.128, abs=0.001)  # four 32 ms windows


ONE_WINDOW = VAD_PARAMS.model_copy(update={"start_secs": 0.032})


@pytest.mark.parametrize("params", [VAD_PARAMS, ONE_WINDOW], ids=["default start", "one window"])
@pytest.mark.parametrize(
    "noise",
    [
        white_noise(0.3, -10),
        white_noise(0.3, -20),
        white_noise(1.0, -10),
        white_noise(0.02, -3),
        tone(0.5, 440),
        tone(0.2, 697, 1209),
    ],
    ids=["300 ms of loud noise", "300 ms of noise", "1 s of noise", "a click", "a beep", "DTMF"],
)
async def test_noise_does_not_barge_in(noise: bytes, params: VADParams):
    assert await first_speech(SILENCE + noise + SILENCE, params) is None


async def test_one_window_would_still_hear_a_word():
    """The noise test at one window is not vacuous: a word passes the same params."""
    assert await first_speech(SILENCE + speak("Stop.", 16000) + SILENCE, ONE_WINDOW) is not None
