"""The turn strategies and VAD each session gets."""

from __future__ import annotations

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.turns.user_stop import (
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)

from voice.settings import Settings
from voice.turn_taking import VAD_PARAMS, turn_stop_strategy, user_turn_params


def test_silence_ends_a_turn_by_default():
    strategy = turn_stop_strategy(Settings(speech_timeout=0.4))

    assert isinstance(strategy, SpeechTimeoutUserTurnStopStrategy)
    assert strategy._user_speech_timeout == 0.4


def test_smart_turn_on_request():
    strategy = turn_stop_strategy(Settings(turn_stop="smart-turn"))

    assert isinstance(strategy, TurnAnalyzerUserTurnStopStrategy)


def test_params_carry_silero_vad_and_the_stop_strategy():
    params = user_turn_params(Settings())

    assert isinstance(params.vad_analyzer, SileroVADAnalyzer)
    assert params.vad_analyzer.params == VAD_PARAMS
    assert params.user_turn_strategies is not None
    [stop] = params.user_turn_strategies.stop or []
    assert isinstance(stop, SpeechTimeoutUserTurnStopStrategy)
