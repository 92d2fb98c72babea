"""Barge-in trials: the caller talks over a long answer; how soon does the bot fall silent?

Each trial is a new session: ask `--barge-in-history` questions (none by default) and hear
them answered, then ask for a story, let `barge_after` seconds of it play, wait for the bot to
be mid-sentence (not in a pause between sentences), then say a question over it.
The bot stopped if its audio ended while the caller was still talking and stayed off for
`STOP_CHECK` after: while it talks a frame arrives every 40 ms, and its reply to the new
question needs the VAD's 0.2 s of silence plus STT before it can start. That reply must
then come too, and is heard to its end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.voice.audio import Utterance
from bench.voice.turns import (
    AudioFrame,
    Connect,
    TurnFailed,
    answer_end,
    audio_after,
    first_audio,
    say,
)
from harness.pipecat_client import VoiceClient

STOP_CHECK = 0.25
# Audio is flowing when a frame came this recently: two of Pipecat's 40 ms output frames.
FLOWING = 0.08
# How long to wait, after `barge_after`, for the bot to be mid-sentence.
FLOWING_WITHIN = 5.0


@dataclass
class BargeSample:
    """One barge-in trial, in milliseconds from the client starting to talk over the bot."""

    index: int
    request: str
    history: list[str] = field(default_factory=list)  # questions answered before `request`
    started_at: float = field(default_factory=time.time)  # Unix time, for the record
    ok: bool = False
    error: str | None = None
    heard_ms: float | None = None  # bot audio that played before the barge-in
    stop_ms: float | None = None  # -> the last bot audio frame of the interrupted answer
    interruption_ms: float | None = None  # -> the protobuf interruption frame; None if none
    bot_interrupted_ms: float | None = None  # -> the RTVI bot-interrupted message; None if none
    reply_ms: float | None = None  # end of the interrupting speech -> first audio of the reply
    interrupting_speech_ms: float | None = None

    def fail(self, error: str) -> None:
        """Mark the trial failed; its times no longer count."""
        self.ok, self.error = False, error
        self.stop_ms = self.reply_ms = None

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready."""
        return asdict(self)


async def wait_mid_sentence(client: VoiceClient, after: float) -> None:
    """Return once bot audio (of the answer begun after `after`) is arriving right now."""
    deadline = time.monotonic() + FLOWING_WITHIN
    while time.monotonic() < deadline:
        frames = audio_after(client.received, after)
        if frames and time.monotonic() - frames[-1][0] < FLOWING:
            return
        await asyncio.sleep(0.01)
    raise TurnFailed(f"the bot was not speaking {FLOWING_WITHIN:g} s later (answer too short?)")


def stop_time(frames: list[AudioFrame], said: float) -> float:
    """Arrival of the interrupted answer's last frame: the last before `said`, if it stayed so."""
    before = [t for t, _, _ in frames if t < said]
    if any(said <= t <= said + STOP_CHECK for t, _, _ in frames):
        raise TurnFailed("the bot kept talking while the caller talked over it")
    return before[-1]


async def barge_in_trial(
    url: str,
    request: Utterance,
    interruption: Utterance,
    sample: BargeSample,
    *,
    barge_after: float,
    within: float,
    connect: Connect = VoiceClient.connect,
    history: Sequence[Utterance] = (),
) -> None:
    """Run one trial on a new session, after asking the `history` questions there (each
    answered to its end), and fill `sample`; raise `TurnFailed` when it fails."""
    async with connect(url) as client:
        try:
            await client.wait_for("bot-ready", within=within)
        except (TimeoutError, ConnectionError) as e:
            raise TurnFailed(f"the session did not start: {e}") from e
        for question in history:
            await answer_end(client, await say(client, question), within)
        asked = await say(client, request)
        first = await first_audio(client, asked, within)
        await asyncio.sleep(max(0.0, first + barge_after - time.monotonic()))
        await wait_mid_sentence(client, asked)
        # The microphone starts the speech at its next 16 ms chunk: so much early, at most.
        barge = time.monotonic()
        said = await say(client, interruption)
        await asyncio.sleep(STOP_CHECK + 0.05)
        received = client.received
        sample.heard_ms = (barge - first) * 1000
        sample.interrupting_speech_ms = (said - barge) * 1000
        if interruptions := [t for t in received.interruptions if t > barge]:
            sample.interruption_ms = (interruptions[0] - barge) * 1000
        if interrupted := received.rtvi("bot-interrupted", barge):
            sample.bot_interrupted_ms = (interrupted[0] - barge) * 1000
        sample.stop_ms = (stop_time(audio_after(received, asked), said) - barge) * 1000
        try:
            reply = await first_audio(client, said, within)
        except TurnFailed as e:
            raise TurnFailed(f"no reply to the interrupting question: {e}") from e
        sample.reply_ms = (reply - said) * 1000
        # Hear the reply out, as a caller would, before hanging up: hanging up at its first
        # frame can end the session before the app has logged the turn (Pipecat drops what
        # its observers have not yet seen when a session is cancelled).
        try:
            await answer_end(client, said, within)
        except TurnFailed as e:
            raise TurnFailed(f"the reply to the interrupting question did not end: {e}") from e
