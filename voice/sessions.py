"""Voice sessions on websockets: one slot each against `--max-sessions`, one pipeline each.

Every route that carries a call (`/ws-client`, a phone's `/ws`) runs it through `Sessions`,
so they share one limit and one way to start, log and end a session.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import WebSocket
from loguru import logger
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.runner.types import RunnerArguments, WebSocketRunnerArguments
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.transports.base_transport import BaseTransport

from voice.bot import run_bot
from voice.calls.recorder import CallRecorder
from voice.calls.store import Call, CallStore
from voice.drain import Drain
from voice.llm_server import LlmEndpoint
from voice.metrics import VoiceMetrics
from voice.session_end import ERROR, SessionEnd
from voice.settings import Settings
from voice.transports import AudioRates, session_transport

# Close codes: 4003 is the runner's for a refused origin or token; 1013 is "try again
# later"; 1008 is a policy violation (a stream that does not start as a call).
CLOSE_FORBIDDEN = 4003
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_POLICY_VIOLATION = 1008


class SessionSlots:
    """Counts live sessions against a limit."""

    def __init__(self, limit: int):
        self.limit = limit
        self.live = 0
        self.none_live = asyncio.Event()  # set while no slot is taken
        self.none_live.set()

    def take(self) -> bool:
        """Take a slot; False when all are in use."""
        if self.live >= self.limit:
            return False
        self.live += 1
        self.none_live.clear()
        return True

    def give_back(self) -> None:
        """Return a slot taken with `take`."""
        self.live -= 1
        if self.live == 0:
            self.none_live.set()


class Sessions:
    """Runs each accepted websocket's session in a slot, with this app's settings and LLM."""

    def __init__(
        self, settings: Settings, llm_endpoint: LlmEndpoint, store: CallStore | None = None
    ):
        self.settings = settings
        self.llm_endpoint = llm_endpoint
        self.slots = SessionSlots(settings.max_sessions)
        self.store = store  # where calls are recorded; None with --no-record
        self.shutting_down = False  # set on SIGTERM: sessions ending now were ended by it
        self.drain = Drain()
        self.metrics = VoiceMetrics(lambda: self.slots.live, lambda: self.drain.draining)

    async def in_a_slot(
        self, websocket: WebSocket, what: str, run: Callable[[str], Awaitable[None]]
    ) -> bool:
        """`run(session_id)` holding one session slot; with none free, or while draining,
        close with 1013 and return False."""
        if self.drain.draining:
            logger.warning(f"{what} refused: draining")
            await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason="draining")
            return False
        if not self.slots.take():
            logger.warning(f"{what} refused: all {self.slots.limit} sessions in use")
            await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason="too many sessions")
            return False
        session_id = uuid.uuid4().hex[:12]
        try:
            with logger.contextualize(session=session_id):
                await run(session_id)
        finally:
            self.slots.give_back()
        return True

    async def run(
        self,
        websocket: WebSocket,
        session_id: str,
        serializer: FrameSerializer,
        transport_type: str,
        rates: AudioRates,
        before_output: Sequence[FrameProcessor] = (),
        body: dict[str, Any] | None = None,
        caller: str | None = None,
    ) -> None:
        """Run the bot on `websocket` through `serializer` at `rates` until the session ends;
        log why. `body` is what the portal said about the caller (`POST /start`)."""
        runner_args = WebSocketRunnerArguments(
            websocket=websocket,
            session_id=session_id,
            transport_type=transport_type,
            body=body or {},
        )
        await self.run_on(
            lambda: session_transport(websocket, serializer, rates),
            runner_args,
            rates,
            before_output,
            rejection=lambda: getattr(serializer, "rejection", None),
            transport=transport_type,
            caller=caller,
        )

    async def run_on(
        self,
        make_transport: Callable[[], BaseTransport],
        runner_args: RunnerArguments,
        rates: AudioRates,
        before_output: Sequence[FrameProcessor] = (),
        rejection: Callable[[], str | None] = lambda: None,
        transport: str = "websocket",
        caller: str | None = None,
    ) -> None:
        """Run the bot on the transport `make_transport` builds until the session ends; log
        why (a client's rejected input, as `rejection` tells it, wins), and record the call
        (over `transport`, from `caller` if the transport names one) unless recording is off."""
        end = SessionEnd()
        recorder = None
        if self.store:
            call = Call(runner_args.session_id, transport, caller, started=time.time())
            recorder = CallRecorder(self.store, call)
            await recorder.start()
        try:
            await run_bot(
                make_transport(),
                runner_args,
                settings=self.settings,
                llm_endpoint=self.llm_endpoint,
                rates=rates,
                before_output=before_output,
                end=end,
                recorder=recorder,
                drain=self.drain,
                metrics=self.metrics,
            )
        except Exception as e:
            logger.exception("session failed")
            end.because(ERROR, repr(e))
        finally:
            if rejected := rejection():
                end = SessionEnd()  # bad input from the client outranks how it then ended
                end.because(ERROR, f"bad client input: {rejected}")
            reason = end.reason(shutting_down=self.shutting_down)
            detail = f": {end.detail}" if end.detail else ""
            logger.info(f"session {runner_args.session_id} ended ({reason}{detail})")
            self.metrics.session_ended(transport, reason)
            if recorder:
                await recorder.finish(end, shutting_down=self.shutting_down)
