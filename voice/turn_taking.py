"""When the caller's turn starts and ends: Silero VAD and the user turn strategies.

A turn starts when the VAD hears speech, which also interrupts the bot (barge-in). It ends
`speech_timeout` seconds after the VAD's own `stop_secs` of silence, once Whisper has the
transcript: 0.5 s of silence at the least. Whisper, hearing from the caller's first pause
(32 ms of silence: `pause_vad`, `voice.services.pause_hearing`) in an 8 s window, usually
has the transcript well before that, so the answer is started then and held until the turn ends
(`voice.early_answer`).

Smart Turn v3 (`--turn-stop=smart-turn`) was measured on ten Piper-spoken utterances
(`python -m bench.turn_stop`): nine judged complete after 0.12-0.42 s of inference, on
a core Whisper needs at the same moment; one ("Thanks, that's all.") judged incomplete, which
holds the turn open for Smart Turn's full 3 s. It stays an option for callers who pause
mid-sentence; silence is the default.
"""

from __future__ import annotations

from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.processors.aggregators.llm_response_universal import LLMUserAggregatorParams
from pipecat.turns.user_stop import (
    BaseUserTurnStopStrategy,
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from voice.early_answer import EarlyAnswerSpeechTimeout
from voice.fast_attack_vad import FastAttackSileroVAD
from voice.services.pause_hearing import PAUSE_SECS
from voice.settings import Settings

# stop_secs=0.2 is Pipecat's default, which its STT p99 latencies assume (it warns otherwise).
# start_secs (`--vad-start`, 0.064: two of Silero's 32 ms windows; Pipecat's is 0.2, six) is
# how long the caller must be heard before the bot, if speaking, stops. Silero's confidence
# is what keeps noise out, not the time: a 300 ms burst of white noise, a click, a tone or
# DTMF is no speech even at one window (tests/voice/test_turn_taking.py), and a sound that
# is, a cough or a backchannel "mm-hm", lasts longer than any of these start times. Each
# window less is 32 ms sooner: `python -m bench.voice --barge-in-trials 8 --rounds 3
# --compare-app before=--vad-start=0.1` (README, "Barge-in"). min_volume stays 0.6 (-50
# LUFS), Pipecat's: a caller 30 dB under full level still passes it. The volume rises at once
# (`voice.fast_attack_vad`), so the gate does not hold a start back after a silent line.
VAD_PARAMS = VADParams(confidence=0.7, start_secs=Settings.vad_start, stop_secs=0.2, min_volume=0.6)


def vad_params(settings: Settings) -> VADParams:
    """`VAD_PARAMS` with the settings' start time."""
    return VAD_PARAMS.model_copy(update={"start_secs": settings.vad_start})


def pause_vad(settings: Settings) -> FastAttackSileroVAD | None:
    """A VAD like the pipeline's that calls a pause after `PAUSE_SECS` of silence, for
    Whisper to start hearing the segment (`voice.services.pause_hearing`), or None."""
    if not settings.hear_at_pause:
        return None
    return FastAttackSileroVAD(
        params=vad_params(settings).model_copy(update={"stop_secs": PAUSE_SECS})
    )


def turn_stop_strategy(settings: Settings) -> BaseUserTurnStopStrategy:
    """The strategy that decides the caller has finished speaking."""
    if settings.turn_stop == "smart-turn":
        from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3

        return TurnAnalyzerUserTurnStopStrategy(turn_analyzer=LocalSmartTurnAnalyzerV3())
    if settings.early_answer:
        return EarlyAnswerSpeechTimeout(user_speech_timeout=settings.speech_timeout)
    return SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=settings.speech_timeout)


def user_turn_params(settings: Settings) -> LLMUserAggregatorParams:
    """The user aggregator's params: VAD, and the default start strategies with ours to stop."""
    return LLMUserAggregatorParams(
        vad_analyzer=FastAttackSileroVAD(params=vad_params(settings)),
        user_turn_strategies=UserTurnStrategies(stop=[turn_stop_strategy(settings)]),
    )
