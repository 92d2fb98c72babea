"""`GET /metrics` of the voice app, in Prometheus' text format (`prometheus-client`).

    voice_active_sessions                  sessions live now
    voice_draining                         1 while the app drains (SIGTERM)
    voice_sessions_total{transport,end_reason}
    voice_turn_latency_seconds{stage}      per turn: total (the caller stops -> first bot
                                           audio) and each part of it (voice.latency_log)
    voice_barge_ins_total                  answers the caller interrupted

Each app has a registry of its own, so several apps in one process never mix their numbers.
"""

from __future__ import annotations

from collections.abc import Callable

from pipecat.observers.user_bot_latency_observer import (
    LatencyBreakdown,
    MeasuredFrom,
    UserBotLatencyObserver,
)
from pipecat.processors.frame_processor import FrameProcessor
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from voice.latency_log import TurnLatency

# Seconds: a voice turn's parts run from tens of milliseconds to a few seconds.
_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


class VoiceMetrics:
    """The app's counters, gauges and histograms, and their text exposition."""

    def __init__(self, live_sessions: Callable[[], int], draining: Callable[[], bool]):
        self.registry = CollectorRegistry()
        active = Gauge("voice_active_sessions", "Voice sessions live now", registry=self.registry)
        active.set_function(live_sessions)
        drain = Gauge("voice_draining", "1 while the app drains", registry=self.registry)
        drain.set_function(lambda: float(draining()))
        self.sessions = Counter(
            "voice_sessions",
            "Voice sessions ended, by transport and why they ended",
            ["transport", "end_reason"],
            registry=self.registry,
        )
        self.turn_latency = Histogram(
            "voice_turn_latency_seconds",
            "Per turn: the caller stopping to the first bot audio (stage=total), and its parts",
            ["stage"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.barge_ins = Counter(
            "voice_barge_ins", "Answers the caller interrupted", registry=self.registry
        )

    def attach(self, assistant_aggregator: FrameProcessor, latency: UserBotLatencyObserver) -> None:
        """Count one session's turns: their latency and the interrupted answers."""

        @latency.event_handler("on_latency_breakdown")
        async def on_latency_breakdown(_: object, breakdown: LatencyBreakdown) -> None:
            if breakdown.measured_from is MeasuredFrom.USER_SILENCE:
                turn = TurnLatency.from_breakdown(breakdown)
                self.turn_latency.labels("total").observe(turn.total)
                for stage, seconds in turn.parts:
                    self.turn_latency.labels(stage).observe(seconds)

        @assistant_aggregator.event_handler("on_assistant_turn_stopped")
        async def on_assistant_turn_stopped(_: object, message: object) -> None:
            if getattr(message, "interrupted", False):
                self.barge_ins.inc()

    def session_ended(self, transport: str, reason: str) -> None:
        """Count a session that ended."""
        self.sessions.labels(transport, reason).inc()

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)
