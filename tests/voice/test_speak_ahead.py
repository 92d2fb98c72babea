"""Speaking ahead: Piper voices an early answer while the turn is still open, the audio waits
for the turn's end, and a withdrawn answer leaves nothing behind in the TTS or the output.

The pipeline is Pipecat's own LLMService (answering from a script, so its gating code is the
real one), the real Piper service and `HeldSpeech`, driven frame by frame as the user
aggregator would: a turn starts, the early answer is asked for, the turn ends or the answer
is withdrawn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from pipecat.frames.frames import (
    EagerEndOfTurnCancelFrame,
    EndFrame,
    Frame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    StartFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.cartesia.tts import CartesiaTTSService
from pipecat.services.llm_service import LLMService
from pipecat.services.settings import LLMSettings
from pipecat.turns.speculation_gate import SpeculationGate
from pipecat.workers.runner import WorkerRunner

from voice.services.piper_tts import PiperTTSService
from voice.speak_ahead import ForwardingGate, HeldSpeech, speak_ahead

WAIT = 60.0  # bounded waits for the pipeline; never asserted as a speed

FIRST = ["The capital", " of France", " is Paris.", " It is"]  # then the rest, after a pause
REST = [" on the Seine."]
LLM_SETTINGS = ("model", "system_instruction", "temperature", "max_tokens", "top_p", "top_k",
                "frequency_penalty", "presence_penalty", "seed", "filter_incomplete_user_turns",
                "user_turn_completion_config")  # fmt: skip
SECOND = ["Rome is", " the capital of Italy."]


class ScriptedLLM(LLMService):
    """Answers each context with the next script, a token at a time; a script's `None` is a
    pause long enough that only a withdrawal ends it."""

    def __init__(self, scripts: list[list[str | None]]) -> None:
        super().__init__(settings=LLMSettings(**dict.fromkeys(LLM_SETTINGS)))
        self._scripts = scripts
        self.answering = asyncio.Event()  # set once an answer has begun

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if not isinstance(frame, LLMContextFrame):
            await self.push_frame(frame, direction)
            return
        await self.push_frame(LLMFullResponseStartFrame())
        self.answering.set()
        for token in self._scripts.pop(0):
            if token is None:
                await asyncio.sleep(WAIT * 10)
            else:
                await self.push_frame(LLMTextFrame(token))
        await self.push_frame(LLMFullResponseEndFrame())


class Tap(FrameProcessor):
    """Records what passes downstream (after the start) and wakes whoever waits on it."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []
        self._changed = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM and not isinstance(frame, StartFrame):
            self.frames.append(frame)
            self._changed.set()
        await self.push_frame(frame, direction)

    def of(self, kind: type[Frame]) -> list[Frame]:
        return [f for f in self.frames if isinstance(f, kind)]

    def words(self) -> str:
        return " ".join(f.text for f in self.of(TTSTextFrame))

    async def until(self, seen: Callable[[], object]) -> None:
        async def wait() -> None:
            while not seen():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), WAIT)


class Call:
    """A running pipeline: the LLM, Piper, a tap, `HeldSpeech`, a tap."""

    def __init__(self, llm: ScriptedLLM) -> None:
        self.llm = llm
        self.tts = PiperTTSService()
        (self.held,) = speak_ahead(llm, self.tts)
        self.voiced, self.heard = Tap(), Tap()  # what Piper made; what goes on to the caller
        self.worker = PipelineWorker(
            Pipeline([llm, self.tts, self.voiced, self.held, self.heard]),
            cancel_on_idle_timeout=False,
            enable_rtvi=False,
        )

    async def send(self, *frames: Frame) -> None:
        for frame in frames:
            await self.worker.queue_frame(frame)

    async def ask(self, *, speculation: bool) -> None:
        await self.send(LLMContextFrame(LLMContext(), speculation=speculation))


@asynccontextmanager
async def call(scripts: list[list[str | None]]) -> AsyncIterator[Call]:
    running = Call(ScriptedLLM(scripts))
    started = asyncio.Event()

    @running.worker.event_handler("on_pipeline_started")
    async def on_pipeline_started(worker: PipelineWorker, frame: StartFrame) -> None:
        started.set()

    runner = WorkerRunner()
    await runner.add_workers(running.worker)
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(started.wait(), WAIT)
        yield running
        await running.send(EndFrame())
        await asyncio.wait_for(task, WAIT)
    finally:
        if not task.done():
            await running.worker.cancel()
            await task


def audio(frames: list[Frame]) -> bytes:
    return b"".join(f.audio for f in frames if isinstance(f, TTSAudioRawFrame))


def test_only_a_tts_that_can_withdraw_speech_speaks_ahead():
    llm = ScriptedLLM([])
    assert [type(p) for p in speak_ahead(llm, PiperTTSService())] == [HeldSpeech]
    # Pipecat's LLMService decides what it pushes through this attribute.
    assert isinstance(llm._speculation_gate, ForwardingGate)

    other = ScriptedLLM([])
    assert speak_ahead(other, CartesiaTTSService(api_key="none")) == []
    assert type(other._speculation_gate) is SpeculationGate  # the LLM holds early answers


async def test_the_early_answer_is_voiced_before_the_turn_ends_and_heard_after():
    async with call([FIRST + REST]) as c:
        await c.send(UserStartedSpeakingFrame())
        await c.ask(speculation=True)

        await c.voiced.until(lambda: c.voiced.of(TTSStoppedFrame))  # the whole answer voiced
        await asyncio.sleep(0.2)  # anything wrongly let through has had time to arrive
        assert c.heard.of(UserStartedSpeakingFrame)
        assert c.heard.of(LLMFullResponseStartFrame) == c.heard.of(TTSAudioRawFrame) == []

        await c.send(UserStoppedSpeakingFrame())
        await c.heard.until(lambda: c.heard.of(LLMFullResponseEndFrame))

    assert audio(c.heard.frames) == audio(c.voiced.frames) != b""
    assert c.heard.words() == "The capital of France is Paris. It is on the Seine."
    stop = c.heard.frames.index(c.heard.of(UserStoppedSpeakingFrame)[0])
    assert all(not isinstance(f, TTSAudioRawFrame) for f in c.heard.frames[:stop])


@pytest.mark.parametrize("voiced", [True, False], ids=["while-voiced", "at-once"])
async def test_a_withdrawn_answer_is_never_heard_and_the_next_one_is_heard_alone(voiced: bool):
    async with call([[*FIRST, None, *REST], SECOND]) as c:
        await c.send(UserStartedSpeakingFrame())
        await c.ask(speculation=True)
        await asyncio.wait_for(c.llm.answering.wait(), WAIT)
        if voiced:
            # Piper has voiced the first sentence; "It is" waits in its sentence aggregator.
            await c.voiced.until(lambda: c.voiced.of(TTSAudioRawFrame))
        # else the answer is anywhere between the LLM and the gate when it is withdrawn

        await c.send(EagerEndOfTurnCancelFrame())  # the caller went on
        await c.send(UserStoppedSpeakingFrame())  # and the turn ended, with other words
        await c.ask(speculation=False)
        await c.heard.until(lambda: c.heard.of(LLMFullResponseEndFrame))

    assert c.heard.words() == "Rome is the capital of Italy."
    assert c.heard.of(InterruptionFrame) == []  # the withdrawal stayed between TTS and gate
    assert len(c.heard.of(LLMFullResponseStartFrame)) == 1
    assert audio(c.heard.frames) != b""


async def test_an_answer_to_an_ended_turn_is_heard_as_it_is_voiced():
    async with call([SECOND]) as c:
        await c.send(UserStartedSpeakingFrame(), UserStoppedSpeakingFrame())
        await c.ask(speculation=False)
        await c.heard.until(lambda: c.heard.of(LLMFullResponseEndFrame))

    assert c.heard.words() == "Rome is the capital of Italy."
    assert audio(c.heard.frames) == audio(c.voiced.frames) != b""
