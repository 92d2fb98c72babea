"""Answer while the speech timeout runs, and let the caller hear it only once the turn ends.

A turn ends `--speech-timeout` seconds after the VAD's stop, and only once Whisper's
transcript is in. When the transcript lands first (the timer starts at the VAD's stop, and
Whisper, hearing from the caller's first pause 0.16 s before it in an 8 s window, usually has
the words within 0.1 s of it), waiting out the timer before asking the LLM wastes the
difference. So when the transcript arrives while the timer still runs, the answer is
started at once, speculatively: Pipecat runs it against a provisional context and a
`SpeculationGate` holds every frame of it (after the TTS, so it is voiced meanwhile:
`voice.speak_ahead`). When the timer ends with no more speech and the
same words, the turn is confirmed and the held answer plays; nothing runs twice. When the
caller speaks again first (a pause mid-sentence), the speculation is withdrawn: the answer is
dropped unheard and its request closed, and the turn goes on as if none had been started.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.turns.types import ProcessFrameResult, UserTurnSpeculation
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
from pipecat.utils.string import TextPartForConcatenation, concatenate_aggregated_text


class EarlyAnswerSpeechTimeout(SpeechTimeoutUserTurnStopStrategy):
    """The speech timeout strategy, answering speculatively as soon as the transcript is in."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._parts: list[TextPartForConcatenation] = []
        self._speculation: UserTurnSpeculation | None = None

    @property
    def speculating(self) -> bool:
        """Whether an answer has been started for a turn that has not ended yet."""
        return self._speculation is not None

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        if isinstance(frame, TranscriptionFrame) and frame.text.strip():
            # The user aggregator joins the turn's transcripts the same way, so a confirmed
            # turn is written to the context with exactly the words the answer was for.
            self._parts.append(
                TextPartForConcatenation(
                    frame.text, includes_inter_part_spaces=frame.includes_inter_frame_spaces
                )
            )
        result = await super().process_frame(frame)
        if isinstance(frame, TranscriptionFrame):
            await self._maybe_speculate()
        return result

    async def trigger_user_turn_stopped(self, *, enable_user_speaking_frames: bool | None = None):
        """End the turn: release the answer already started for these words, or start one."""
        speculation, self._speculation = self._speculation, None
        if speculation and speculation.text == self._turn_text():
            await self.trigger_user_turn_finalized(
                enable_user_speaking_frames=enable_user_speaking_frames,
                confirms_speculation=True,
            )
            return
        if speculation:
            await self.trigger_user_turn_speculation_cancelled()
        await super().trigger_user_turn_stopped(
            enable_user_speaking_frames=enable_user_speaking_frames
        )

    async def handle_user_turn_started(self):
        self._parts = []
        await super().handle_user_turn_started()

    async def handle_user_turn_stopped(self):
        self._parts = []
        await super().handle_user_turn_stopped()

    async def _discard_pending_end_of_turn(self):
        """The caller spoke again, or the turn ended another way: withdraw the early answer."""
        await super()._discard_pending_end_of_turn()
        if self._speculation:
            self._speculation = None
            await self.trigger_user_turn_speculation_cancelled()

    async def _maybe_speculate(self) -> None:
        """Start the answer when the transcript is in and only the speech timer is left."""
        ready = (
            self._vad_stopped
            and not self._vad_user_speaking
            and self._transcript_finalized
            and not self._user_speech_wait_done
            and self._speculation is None
        )
        text = self._turn_text()
        if ready and text.strip():
            self._speculation = UserTurnSpeculation(text=text)
            await self.trigger_user_turn_inference_triggered(speculation=self._speculation)

    def _turn_text(self) -> str:
        return concatenate_aggregated_text(self._parts)
