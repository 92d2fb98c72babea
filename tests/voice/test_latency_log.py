"""Per-turn latency lines read from Pipecat's latency breakdown."""

from __future__ import annotations

from pipecat.observers.user_bot_latency_observer import (
    LatencyBreakdown,
    LatencyContribution,
    LatencyOwnerKind,
    MeasuredFrom,
)

from voice.latency_log import TurnLatency


def part(key: str, seconds: float) -> LatencyContribution:
    return LatencyContribution(
        key=key,
        label=key,
        owner="x",
        owner_kind=LatencyOwnerKind.SERVICE,
        start_time=0.0,
        duration_secs=seconds,
    )


def test_reads_the_stages_and_keeps_the_whole_timeline():
    breakdown = LatencyBreakdown(
        contributions=[
            part("endpointing_wait", 0.2),
            part("transcription", 0.15),
            part("turn_detection", 0.3),
            part("llm_inference", 0.1),
            part("llm_inference", 0.05),
            part("speech_synthesis", 0.04),
        ],
        measured_from=MeasuredFrom.USER_SILENCE,
        total_secs=0.84,
    )

    latency = TurnLatency.from_breakdown(breakdown)

    assert latency.total == 0.84
    assert latency.stt == 0.15
    assert round(latency.llm_first_token or 0, 3) == 0.15
    assert latency.tts_first_audio == 0.04
    assert latency.log_line() == (
        "turn latency total=0.840 stt=0.150 llm_first_token=0.150 tts_first_audio=0.040 | "
        "endpointing_wait=0.200 transcription=0.150 turn_detection=0.300 "
        "llm_inference=0.150 speech_synthesis=0.040"
    )


def test_a_missing_stage_prints_as_a_dash():
    latency = TurnLatency.from_breakdown(LatencyBreakdown(total_secs=0.5))

    assert "stt=- llm_first_token=- tts_first_audio=-" in latency.log_line()
