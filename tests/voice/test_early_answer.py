"""Answering early: the speculation starts with the transcript, and the speech timeout decides
whether the caller hears it."""

from __future__ import annotations

import asyncio

from pipecat.clocks.system_clock import SystemClock
from pipecat.frames.frames import (
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameProcessorSetup
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
from pipecat.utils.asyncio.task_manager import TaskManager

from voice.early_answer import EarlyAnswerSpeechTimeout
from voice.settings import Settings
from voice.turn_taking import turn_stop_strategy

TIMEOUT = 0.3
WAIT = 5.0  # bounded waits for what the timer does; never asserted as a speed


class Events:
    """What a strategy told its user aggregator, in order."""

    def __init__(self, strategy: EarlyAnswerSpeechTimeout) -> None:
        self.seen: list[tuple[str, object]] = []
        self.changed = asyncio.Event()

        @strategy.event_handler("on_user_turn_inference_triggered")
        async def inference(strategy, speculation):
            self._add("inference", speculation.text if speculation else None)

        @strategy.event_handler("on_user_turn_stopped")
        async def stopped(strategy, params):
            self._add("stopped", params.confirms_speculation)

        @strategy.event_handler("on_user_turn_speculation_cancelled")
        async def cancelled(strategy):
            self._add("cancelled", None)

    def _add(self, name: str, value: object) -> None:
        self.seen.append((name, value))
        self.changed.set()

    async def until(self, name: str) -> None:
        async def seen() -> None:
            while not any(n == name for n, _ in self.seen):
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(seen(), WAIT)


async def started(speech_timeout: float = TIMEOUT) -> tuple[EarlyAnswerSpeechTimeout, Events]:
    strategy = EarlyAnswerSpeechTimeout(user_speech_timeout=speech_timeout)
    setup = FrameProcessorSetup(
        clock=SystemClock(), task_manager=TaskManager(), pipeline_worker=None
    )
    await strategy.setup(setup)
    await strategy.handle_user_turn_started()
    return strategy, Events(strategy)


def transcript(text: str) -> TranscriptionFrame:
    frame = TranscriptionFrame(text, "caller", "")
    frame.finalized = True  # a segment's transcript, as the Whisper service sends it
    return frame


async def test_the_answer_starts_with_the_transcript_and_plays_when_the_turn_ends():
    strategy, events = await started()

    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
    await strategy.process_frame(transcript("What is the capital of France?"))

    assert events.seen == [("inference", "What is the capital of France?")]
    assert strategy.speculating
    await events.until("stopped")
    assert events.seen == [
        ("inference", "What is the capital of France?"),
        ("stopped", True),  # confirms the answer already started: no second inference
    ]
    await strategy.handle_user_turn_stopped()
    assert not strategy.speculating


async def test_speaking_again_withdraws_the_answer_and_the_whole_turn_is_answered():
    strategy, events = await started(speech_timeout=1.0)

    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
    await strategy.process_frame(transcript("What is the capital"))
    await strategy.process_frame(VADUserStartedSpeakingFrame())  # a pause mid-sentence

    assert events.seen == [("inference", "What is the capital"), ("cancelled", None)]
    assert not strategy.speculating

    await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
    await strategy.process_frame(transcript("of France?"))
    await events.until("stopped")
    assert events.seen[2:] == [
        ("inference", "What is the capital of France?"),
        ("stopped", True),
    ]


async def test_a_transcript_later_than_the_timer_is_answered_at_once():
    strategy, events = await started(speech_timeout=0.05)

    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
    await asyncio.sleep(0.2)  # the timer has run out; the turn waits on the transcript
    assert events.seen == []
    await strategy.process_frame(transcript("Stop."))

    await events.until("stopped")
    assert events.seen == [("inference", None), ("stopped", False)]


async def test_a_turn_ended_another_way_withdraws_the_answer():
    strategy, events = await started(speech_timeout=1.0)

    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
    await strategy.process_frame(transcript("Hello?"))
    await strategy.handle_user_turn_stopped()  # the stop watchdog, an interruption, the end

    assert events.seen == [("inference", "Hello?"), ("cancelled", None)]


def test_on_by_default_and_off_on_request():
    assert isinstance(turn_stop_strategy(Settings()), EarlyAnswerSpeechTimeout)
    plain = turn_stop_strategy(Settings(early_answer=False))
    assert type(plain) is SpeechTimeoutUserTurnStopStrategy
