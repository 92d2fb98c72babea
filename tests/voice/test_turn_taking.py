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


async def test_a_word_barges_in_a_tenth_of_a_second_sooner_than_pipecats_default():
    word = SILENCE + speak("Stop.", 16000) + SILENCE

    ours = await first_speech(word, VAD_PARAMS)
    pipecats = await first_speech(word, VADParams(confidence=0.7, min_volume=0.6))

    assert ours is not None and pipecats is not None
    assert pipecats - ours == pytest.approx(0.096, abs=0.001)  # three 32 ms frames


@pytest.mark.parametrize(
    "noise",
    [white_noise(0.3, -10), white_noise(0.3, -20), white_noise(0.02, -3)],
    ids=["300 ms of loud noise", "300 ms of noise", "a click"],
)
async def test_noise_does_not_barge_in(noise: bytes):
    assert await first_speech(SILENCE + noise + SILENCE, VAD_PARAMS) is None
