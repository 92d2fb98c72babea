"""Speak the early answer ahead: the TTS voices it while the speech timeout runs, and the
audio is held until the turn ends.

Pipecat holds a speculative answer at the LLM (`LLMService` hosts a `SpeculationGate`), so the
TTS starts on it only once the turn is confirmed; Piper's first sentence then takes another
~140 ms on 2 cores. Here the LLM's gate (`ForwardingGate`) holds nothing and marks what it
knows on the frames themselves: the start of an answer to a turn that has not ended, and the
withdrawal of one. `HeldSpeech`, after the TTS, holds a marked answer's audio and text with
Pipecat's own gate until the turn ends, then plays it at once. A marked withdrawal (the caller
spoke again) makes the TTS (`WithdrawableSpeech`) and `HeldSpeech` drop what they have of the
answer, queued or held, as an interruption would but with no interruption frame: the client,
the output and the context never hear of an answer nobody heard.

The marks travel with the frames because a system frame overtakes the data frames queued
before it at every processor: a verdict taken from shared state could reach the gate before
the answer it judges, or after the next one has begun.
"""

from __future__ import annotations

from pipecat.frames.frames import (
    EagerEndOfTurnCancelFrame,
    Frame,
    InterruptionFrame,
    LLMFullResponseStartFrame,
    SystemFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import LLMService
from pipecat.services.tts_service import TTSService
from pipecat.turns.speculation_gate import GatedFrame, SpeculationGate

EARLY_ANSWER = "speak_ahead.early_answer"  # on an LLMFullResponseStartFrame
WITHDRAWN = "speak_ahead.withdrawn"  # on an EagerEndOfTurnCancelFrame


class ForwardingGate(SpeculationGate):
    """The LLM's gate: tracks whether its inference is speculative, as Pipecat's does, holds
    nothing, and marks the start of a speculative answer and the withdrawal of one."""

    def process(self, frame: Frame, direction: FrameDirection) -> list[GatedFrame]:
        if direction == FrameDirection.DOWNSTREAM and self.is_speculating:
            if isinstance(frame, LLMFullResponseStartFrame):
                frame.metadata[EARLY_ANSWER] = True
            elif isinstance(frame, EagerEndOfTurnCancelFrame):
                frame.metadata[WITHDRAWN] = True
        if isinstance(frame, SystemFrame):
            # Only turn verdicts change state here; with nothing held they emit just the frame.
            return super().process(frame, direction)
        return [(frame, direction)]


def withdraws_early_answer(frame: Frame) -> bool:
    """Whether `frame` withdraws an answer that may have reached the TTS."""
    return isinstance(frame, EagerEndOfTurnCancelFrame) and frame.metadata.get(WITHDRAWN, False)


class WithdrawableSpeech(TTSService):
    """A TTS that may be voicing an early answer: when it is withdrawn, the TTS drops the
    text and audio it has of it, queued or in progress, as on an interruption.

    Handled as the withdrawal arrives, ahead of anything queued behind it, which is all the
    withdrawn answer: the LLM sends the next one only after it."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if withdraws_early_answer(frame):
            await self._start_interruption()  # drops the queued text of the answer
            await self._handle_interruption(InterruptionFrame(), direction)
        await super().process_frame(frame, direction)


class HeldSpeech(FrameProcessor):
    """After the TTS: holds the audio of an answer to a turn that has not ended yet."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._gate = SpeculationGate(name=f"{self}::SpeculationGate")

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if withdraws_early_answer(frame):
            await self._start_interruption()  # drops the answer's frames queued here
        elif isinstance(frame, LLMFullResponseStartFrame):
            # A turn that ended before this frame got here leaves nothing to hold for.
            self._gate.begin_speculation(frame.metadata.get(EARLY_ANSWER, False))
        for gated, gated_direction in self._gate.process(frame, direction):
            await self.push_frame(gated, gated_direction)


def speak_ahead(llm: LLMService, tts: TTSService) -> list[FrameProcessor]:
    """Move `llm`'s hold on early answers to after `tts`, when `tts` can withdraw speech.

    Returns:
        What goes between the TTS and the output: `HeldSpeech`, or nothing when `tts` is not
        a `WithdrawableSpeech` and the LLM keeps holding early answers itself.
    """
    if not isinstance(tts, WithdrawableSpeech):
        return []
    # Pipecat 1.14's LLMService gates everything it pushes through this attribute
    # (tests/voice/test_speak_ahead.py drives a real LLMService through it).
    llm._speculation_gate = ForwardingGate(name=f"{llm}::SpeculationGate")
    return [HeldSpeech()]
