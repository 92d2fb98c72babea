"""Playback marks on a phone call: where the caller's ear is in what the bot said.

A provider plays the bot's audio from its own buffer, behind what the app has sent. After
each bot utterance (each `TTSStoppedFrame`), `PlaybackMarks` queues the provider's marker
message (Twilio and Telnyx `mark`, Plivo `checkpoint`) right behind that utterance's audio;
the provider echoes it back when the caller has heard up to it, and the call's serializer
keeps the echoed names (`heard`). On an interruption the queued audio and its marker are
dropped together, and the provider's buffer is cleared.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame, OutputTransportMessageFrame, TTSStoppedFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voice.phone.call import PhoneSerializer


class PlaybackMarks(FrameProcessor):
    """Sits just before the output transport; marks the end of each bot utterance."""

    def __init__(self, serializer: PhoneSerializer) -> None:
        super().__init__()
        self._serializer = serializer
        self.sent = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, TTSStoppedFrame) and direction == FrameDirection.DOWNSTREAM:
            self.sent += 1
            mark = self._serializer.mark_message(f"utterance-{self.sent}")
            await self.push_frame(OutputTransportMessageFrame(message=mark), direction)
