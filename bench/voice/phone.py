"""`--transport twilio`: the benchmark's caller on a phone line instead of `/ws-client`.

`PhoneClient` wraps the tests' fake Twilio (`harness.phone_caller`) in the part of
`VoiceClient` the benchmark uses: `received` (the bot's audio at 8 kHz, and each `clear`
as an interruption), `closed`, `say` (16 kHz speech, sent down the line as 8 kHz mu-law)
and `wait_for("bot-ready")`. A phone stream carries no RTVI, so an answer ends on silence
alone (`rtvi = False`) and a barge-in has no bot-interrupted time.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

from harness.phone_caller import PHONE_RATE, PhoneCaller
from harness.pipecat_client import MIC_RATE, Received
from harness.speech import resample


class PhoneClient:
    """One fake Twilio call, shaped like `harness.pipecat_client.VoiceClient`."""

    rtvi = False

    def __init__(self, caller: PhoneCaller):
        self.caller = caller
        self.closed = caller.closed

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, http_url: str) -> AsyncIterator[PhoneClient]:
        """Place a call to the app at `http_url` (its webhook, then the stream it names)."""
        async with PhoneCaller.dial(http_url) as caller:
            yield cls(caller)

    @property
    def received(self) -> Received:
        """What the bot sent so far, in `VoiceClient`'s shape."""
        heard = self.caller.heard
        return Received(
            audio=[(t, pcm, PHONE_RATE) for t, pcm in heard.media],
            interruptions=self.caller.clears(),
        )

    async def say(self, pcm: bytes) -> float:
        """Speak 16 kHz `pcm` down the line; when its last frame went out."""
        return await self.caller.say(resample(pcm, MIC_RATE, PHONE_RATE))

    async def wait_for(self, kind: str, *, after: float = 0.0, within: float = 30.0) -> float:
        """`bot-ready` only: the call is up once its `start` is sent (no RTVI on a phone)."""
        if kind != "bot-ready":
            raise ValueError(f"a phone call has no RTVI {kind!r} message")
        return time.monotonic()
