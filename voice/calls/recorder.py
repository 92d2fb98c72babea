"""One call's record, written as the call goes: the call when it starts, each turn once when
the bot's answer ends, how the call ended when it ends.

A turn is the caller's words (the user aggregator's finished turn), the bot's words as
actually spoken (the assistant aggregator's turn, which holds only what the output transport
played, cut where the caller barged in, with Pipecat's `interrupted` flag), and the turn's
latency breakdown (`UserBotLatencyObserver`, as `voice.latency_log` logs it). A store that
fails is logged and the call goes on unrecorded; it never ends a call.
"""

from __future__ import annotations

import time

from loguru import logger
from pipecat.observers.user_bot_latency_observer import (
    LatencyBreakdown,
    MeasuredFrom,
    UserBotLatencyObserver,
)
from pipecat.processors.aggregators.llm_response_universal import (
    AssistantTurnStoppedMessage,
    UserTurnStoppedMessage,
)
from pipecat.processors.frame_processor import FrameProcessor

from voice.calls.store import Call, CallStore, Turn
from voice.latency_log import TurnLatency
from voice.session_end import SessionEnd


class CallRecorder:
    """Records one call into `store`."""

    def __init__(self, store: CallStore, call: Call):
        self._store = store
        self.call = call
        self._turns = 0
        self._user_text: list[str] = []
        self._latency: TurnLatency | None = None
        self._working = True

    async def start(self) -> None:
        """Write the call's row."""
        await self._safely(self._store.start_call(self.call))

    def attach(
        self,
        user_aggregator: FrameProcessor,
        assistant_aggregator: FrameProcessor,
        latency: UserBotLatencyObserver,
    ) -> None:
        """Follow the session's turns through its aggregators and latency observer."""

        @user_aggregator.event_handler("on_user_turn_stopped")
        async def on_user_turn_stopped(_, strategy: object, message: UserTurnStoppedMessage):
            if message.content:
                self._user_text.append(message.content.strip())

        @latency.event_handler("on_latency_breakdown")
        async def on_latency_breakdown(_, breakdown: LatencyBreakdown):
            if breakdown.measured_from is MeasuredFrom.USER_SILENCE:
                self._latency = TurnLatency.from_breakdown(breakdown)

        @assistant_aggregator.event_handler("on_assistant_turn_stopped")
        async def on_assistant_turn_stopped(_, message: AssistantTurnStoppedMessage):
            await self._write_turn(message.content.strip(), message.interrupted)

    async def finish(self, end: SessionEnd, *, shutting_down: bool = False) -> None:
        """Write a turn still waiting for its answer, then how the call ended."""
        if self._user_text:
            await self._write_turn("", interrupted=False)
        reason = end.reason(shutting_down=shutting_down)
        await self._safely(self._store.end_call(self.call.id, time.time(), reason, end.detail))

    async def _write_turn(self, bot_text: str, interrupted: bool) -> None:
        user_text, latency = " ".join(self._user_text), self._latency
        self._user_text, self._latency = [], None
        if not user_text and not bot_text:
            return
        self._turns += 1
        turn = Turn(
            number=self._turns,
            at=time.time(),
            user_text=user_text,
            bot_text=bot_text,
            interrupted=interrupted,
            latency_total=latency.total if latency else None,
            latency_parts=latency.parts if latency else (),
        )
        await self._safely(self._store.add_turn(self.call.id, turn))

    async def _safely(self, write) -> None:
        try:
            await write
        except Exception as e:
            if self._working:  # said once per call
                logger.error(f"call record not written ({self._store.where}): {e!r}")
            self._working = False
