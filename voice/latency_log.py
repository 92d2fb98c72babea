"""One log line per turn: user stopped speaking to bot started speaking, and where it went.

Pipecat's `UserBotLatencyObserver` measures from the caller's real silence (the VAD's stop
time less its `stop_secs`) to `BotStartedSpeakingFrame`. With `enable_metrics=True` its
breakdown names each part of that interval, and the parts sum to the total:

    endpointing_wait      the VAD's stop_secs of silence
    transcription         VAD stop -> transcript (STT)
    turn_detection        transcript -> LLM request (the turn stop strategy)
    llm_inference         LLM request -> first text token
    sentence_aggregation  first token -> first whole sentence for the TTS
    speech_synthesis      that sentence -> first audio (TTS)
    output_transport, pipeline   the rest

The parts come from frames passing through the pipeline, not from the services' TTFB
metrics: they sum to the total, where the TTFBs leave out the waits between services (the
VAD's silence, turn detection). The completions server puts the role on its first text
chunk, so `llm_inference` (and the LLM's TTFB) ends at the first word. The line is
`key=value` pairs so a script can read it back.
"""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger
from pipecat.observers.user_bot_latency_observer import (
    LatencyBreakdown,
    MeasuredFrom,
    UserBotLatencyObserver,
)

LOG_PREFIX = "turn latency"


@dataclass(frozen=True)
class TurnLatency:
    """One turn's latency and its parts, in seconds; a part is None when the turn had none."""

    total: float
    stt: float | None
    llm_first_token: float | None
    tts_first_audio: float | None
    parts: tuple[tuple[str, float], ...]

    @classmethod
    def from_breakdown(cls, breakdown: LatencyBreakdown) -> TurnLatency:
        """Sum `breakdown`'s contributions by key."""
        parts: dict[str, float] = {}
        for part in breakdown.contributions:
            parts[part.key] = parts.get(part.key, 0.0) + part.duration_secs
        return cls(
            total=breakdown.total_secs,
            stt=parts.get("transcription"),
            llm_first_token=parts.get("llm_inference"),
            tts_first_audio=parts.get("speech_synthesis"),
            parts=tuple(parts.items()),
        )

    def log_line(self) -> str:
        """`turn latency total=0.912 stt=0.150 ... | endpointing_wait=0.200 ...`."""

        def seconds(value: float | None) -> str:
            return "-" if value is None else f"{value:.3f}"

        head = (
            f"{LOG_PREFIX} total={seconds(self.total)} stt={seconds(self.stt)} "
            f"llm_first_token={seconds(self.llm_first_token)} "
            f"tts_first_audio={seconds(self.tts_first_audio)}"
        )
        return f"{head} | " + " ".join(f"{key}={value:.3f}" for key, value in self.parts)


def log_turn_latency(observer: UserBotLatencyObserver) -> None:
    """Log every turn `observer` measures (not the wait for a greeting)."""

    @observer.event_handler("on_latency_breakdown")
    async def on_latency_breakdown(_observer: UserBotLatencyObserver, breakdown: LatencyBreakdown):
        if breakdown.measured_from is MeasuredFrom.USER_SILENCE:
            logger.info(TurnLatency.from_breakdown(breakdown).log_line())
