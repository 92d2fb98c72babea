"""When the caller's turn starts and ends: Silero VAD and the user turn strategies.

A turn starts when the VAD hears speech, which also interrupts the bot (barge-in). It ends
`speech_timeout` seconds after the VAD's own `stop_secs` of silence, once Whisper has the
transcript: 0.5 s of silence at the least, and in practice when the transcript lands, since
Whisper tiny.en takes longer than that on two cores (0.5-1.5 s measured; see
`python -m bench.voice`), so the timeout adds nothing on top of it.

Smart Turn v3 (`--turn-stop=smart-turn`) was measured on ten Piper-spoken utterances
(`python -m bench.turn_stop`): nine judged complete after 0.12-0.42 s of inference, on
a core Whisper needs at the same moment; one ("Thanks, that's all.") judged incomplete, which
holds the turn open for Smart Turn's full 3 s. It stays an option for callers who pause
mid-sentence; silence is the default.
"""

from __future__ import annotations

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.processors.aggregators.llm_response_universal import LLMUserAggregatorParams
from pipecat.turns.user_stop import (
    BaseUserTurnStopStrategy,
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from voice.early_answer import EarlyAnswerSpeechTimeout
from voice.settings import Settings

# Pipecat's defaults, kept on purpose: stop_secs=0.2 is what Pipecat's STT p99 latencies
# assume (it warns otherwise), and start_secs=0.2 of speech before a barge-in keeps a cough
# or a click on a phone line from cutting the bot off while still stopping it at once.
# confidence=0.7 and min_volume=0.6 passed every synthesized test utterance at 16 kHz.
VAD_PARAMS = VADParams(confidence=0.7, start_secs=0.2, stop_secs=0.2, min_volume=0.6)


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
        vad_analyzer=SileroVADAnalyzer(params=VAD_PARAMS),
        user_turn_strategies=UserTurnStrategies(stop=[turn_stop_strategy(settings)]),
    )
