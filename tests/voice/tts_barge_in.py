"""A user barging in on a TTS service: interrupt it at its first audio, then carry on.

``run_test`` queues its EndFrame at once, behind the frame being spoken. In pipecat-ai 1.14
an interruption then races that EndFrame: the restarted frame task runs ``stop()``, which
awaits the audio-context task that ``_handle_interruption`` is about to cancel, and the
pipeline never ends. So this drives a ``PipelineWorker`` itself and sends the next frames
only once the interruption has been handled, as a real barge-in is.
"""

import asyncio
from collections.abc import Sequence

from pipecat.frames.frames import EndFrame, Frame, InterruptionFrame, StartFrame, TTSAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.tts_service import TTSService
from pipecat.workers.runner import WorkerRunner

# Guards against a hang only; never asserted as a speed.
HANG_TIMEOUT = 60.0


class InterruptionHandled(FrameProcessor):
    """Sits before the TTS; set once an InterruptionFrame has come back up through it."""

    def __init__(self) -> None:
        super().__init__()
        self.event = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == FrameDirection.UPSTREAM and isinstance(frame, InterruptionFrame):
            self.event.set()
        await self.push_frame(frame, direction)


class BargeIn(FrameProcessor):
    """Sits after the TTS; interrupts it when its first audio passes, records what passes."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []
        self.fired_at: int | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if direction != FrameDirection.DOWNSTREAM or isinstance(frame, (StartFrame, EndFrame)):
            return
        self.frames.append(frame)
        if isinstance(frame, TTSAudioRawFrame) and self.fired_at is None:
            self.fired_at = len(self.frames)
            await self.push_frame(InterruptionFrame(), FrameDirection.UPSTREAM)


async def speak_then_barge_in(
    tts: TTSService, first: Frame, then: Sequence[Frame] = ()
) -> tuple[list[Frame], list[Frame]]:
    """Send ``first``, interrupt at its first audio, then send ``then`` and end.

    Returns:
        The frames the TTS pushed downstream before and after the interruption.
    """
    handled, barge_in = InterruptionHandled(), BargeIn()
    worker = PipelineWorker(
        Pipeline([handled, tts, barge_in]), cancel_on_idle_timeout=False, enable_rtvi=False
    )
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def on_pipeline_started(worker: PipelineWorker, frame: StartFrame) -> None:
        started.set()

    async def drive() -> None:
        await started.wait()
        await worker.queue_frame(first)
        await handled.event.wait()
        for frame in then:
            await worker.queue_frame(frame)
        await worker.queue_frame(EndFrame())

    runner = WorkerRunner()
    await runner.add_workers(worker)
    async with asyncio.timeout(HANG_TIMEOUT):
        await asyncio.gather(runner.run(), drive())
    assert barge_in.fired_at is not None, "the TTS never produced audio"
    return barge_in.frames[: barge_in.fired_at], barge_in.frames[barge_in.fired_at :]
