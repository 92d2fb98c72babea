"""One call's turns: ask each question in real time and time the answer as the caller hears it.

Times are the client's `time.monotonic()` arrivals, as `harness.pipecat_client` records
them: a question "ends" when its last speech chunk went out (its trailing silence trimmed),
and an answer is the bot audio that arrived from then until it fell quiet.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from bench.voice.audio import Utterance
from harness.pipecat_client import Received, VoiceClient
from harness.speech import pcm_seconds, rms

AudioFrame = tuple[float, bytes, int]  # arrival, PCM, sample rate
# `VoiceClient.connect` or `bench.voice.phone.PhoneClient.connect`: a session on a URL.
Connect = Callable[[str], AbstractAsyncContextManager[VoiceClient]]

_POLL = 0.02  # how often a waiter looks; arrival times are stamped on receipt, not here
# An answer is over once the bot has been silent this long after the LLM finished: longer
# than a pause between sentences whose audio is late (over 0.2 s seen on 2 busy cores).
ANSWER_QUIET = 1.0
# With no RTVI to say the LLM is done (a phone call), only a longer silence ends an answer.
PHONE_ANSWER_QUIET = 2.0
# On the int16 scale: spoken answers measured 2400-3500 (local model and fake CLI).
SILENT_RMS = 100.0
# On the int16 scale, 1% of full scale (-40 dBFS): a sample this loud is heard.
AUDIBLE = 328


class TurnFailed(Exception):
    """A turn's answer was missing or wrong; the turn counts as failed."""


@dataclass
class TurnSample:
    """One question and its answer as the caller saw them, in milliseconds."""

    call: int
    phase: str  # "warmup" or "turn"
    index: int
    question: str
    started_at: float = field(default_factory=time.time)  # Unix time, for the record
    ok: bool = False
    error: str | None = None
    first_audio_ms: float | None = None  # last speech sample sent -> first bot audio frame
    first_speech_ms: float | None = None  # -> its first audible sample (`first_speech`)
    answer_span_ms: float | None = None  # first -> last bot audio frame of the answer
    answer_audio_ms: float | None = None  # the answer audio's own length
    answer_rms: float | None = None
    transcript: str | None = None  # what Whisper heard, with --verify
    transcript_logprob: float | None = None
    audio: bytes = field(default=b"", repr=False)  # the answer's PCM, kept for --verify
    audio_rate: int = 0

    def fail(self, error: str) -> None:
        """Mark the turn failed; its times no longer count."""
        self.ok, self.error = False, error
        self.first_audio_ms = self.first_speech_ms = None
        self.answer_span_ms = self.answer_audio_ms = None

    def to_dict(self) -> dict[str, Any]:
        """Every field but the audio, JSON-ready."""
        fields = asdict(self)
        del fields["audio"]
        return fields


def audio_after(received: Received, after: float) -> list[AudioFrame]:
    """The bot audio frames that arrived after `after`, oldest first."""
    return received.audio[bisect.bisect_right(received.audio, after, key=lambda f: f[0]) :]


def first_speech(frames: Sequence[AudioFrame]) -> float | None:
    """When the first audible sample of `frames` played: its frame's arrival plus its place
    in the frame (a frame is played as it arrives); None when all are silent. Bot audio can
    start with silence (Piper's before a sentence's first sound), which the caller hears as
    waiting."""
    for arrival, pcm, rate in frames:
        loud = np.flatnonzero(np.abs(np.frombuffer(pcm, np.int16).astype(np.int32)) >= AUDIBLE)
        if loud.size:
            return arrival + loud[0] / rate
    return None


async def first_audio(client: VoiceClient, after: float, within: float) -> float:
    """Arrival of the first bot audio frame after `after`."""
    deadline = time.monotonic() + within
    while not (frames := audio_after(client.received, after)):
        if client.closed.is_set():
            raise TurnFailed("the session closed before the bot answered")
        if time.monotonic() > deadline:
            raise TurnFailed(f"no bot audio within {within:g} s")
        await asyncio.sleep(_POLL)
    return frames[0][0]


async def answer_end(client: VoiceClient, after: float, within: float) -> float:
    """Arrival of the last audio frame of the answer begun after `after`.

    The answer is over once the LLM has finished (RTVI bot-llm-stopped), the bot has stopped
    speaking (bot-stopped-speaking after the last bot-started-speaking) and no audio has come
    for `ANSWER_QUIET` seconds; a pause between sentences alone does not end it. A phone call
    has no RTVI: there silence for `PHONE_ANSWER_QUIET` ends the answer.
    """
    deadline = time.monotonic() + within
    rtvi = getattr(client, "rtvi", True)
    while True:
        received = client.received
        frames = audio_after(received, after)
        last = frames[-1][0] if frames else after
        started = received.rtvi("bot-started-speaking", after)
        stopped = received.rtvi("bot-stopped-speaking", after)
        if (
            frames
            and time.monotonic() - last >= (ANSWER_QUIET if rtvi else PHONE_ANSWER_QUIET)
            and (
                not rtvi
                or (
                    received.rtvi("bot-llm-stopped", after)
                    and stopped
                    and (not started or stopped[-1] >= started[-1])
                )
            )
        ):
            return last
        if client.closed.is_set():
            raise TurnFailed("the session closed mid-answer")
        if time.monotonic() > deadline:
            raise TurnFailed(f"the answer did not end within {within:g} s")
        await asyncio.sleep(_POLL)


async def say(client: VoiceClient, utterance: Utterance) -> float:
    """Speak `utterance` in real time; when its last chunk went out."""
    if client.closed.is_set():
        raise TurnFailed("the session had closed")
    # The microphone task ends with the connection, leaving a queued utterance unsent.
    try:
        return await asyncio.wait_for(client.say(utterance.pcm), utterance.seconds + 10)
    except TimeoutError as e:
        raise TurnFailed("the question could not be sent: the session closed") from e


async def ask(client: VoiceClient, utterance: Utterance, sample: TurnSample, within: float) -> None:
    """Ask `utterance` and fill `sample` from the answer; raise `TurnFailed` on a bad one."""
    said = await say(client, utterance)
    first = await first_audio(client, said, within)
    last = await answer_end(client, said, within)
    frames = [f for f in audio_after(client.received, said) if f[0] <= last]
    sample.audio, sample.audio_rate = b"".join(pcm for _, pcm, _ in frames), frames[0][2]
    sample.first_audio_ms = (first - said) * 1000
    if (speech := first_speech(frames)) is not None:
        sample.first_speech_ms = (speech - said) * 1000
    sample.answer_span_ms = (last - first) * 1000
    sample.answer_audio_ms = pcm_seconds(sample.audio, sample.audio_rate) * 1000
    sample.answer_rms = rms(sample.audio)
    if sample.answer_rms < SILENT_RMS:
        raise TurnFailed(f"the answer was silent (RMS {sample.answer_rms:.0f} of 32767)")


async def run_turns(
    client: VoiceClient,
    utterances: Sequence[Utterance],
    *,
    call: int,
    phase: str,
    count: int,
    within: float,
    progress: tqdm,
) -> list[TurnSample]:
    """`count` turns on one call; each call starts at its own place in `utterances`."""
    samples = []
    for index in range(count):
        utterance = utterances[(call + index) % len(utterances)]
        sample = TurnSample(call, phase, index, utterance.text)
        try:
            await ask(client, utterance, sample, within)
            sample.ok = True
        except TurnFailed as e:
            sample.fail(str(e))
        samples.append(sample)
        progress.update(1)
    return samples


async def open_calls(
    stack: AsyncExitStack, url: str, calls: int, within: float, connect: Connect
) -> list[VoiceClient]:
    """`calls` sessions on `url`, each ready (RTVI bot-ready); closed when `stack` closes."""
    clients: list[VoiceClient] = []
    for _ in range(calls):
        clients.append(await stack.enter_async_context(connect(url)))
    await asyncio.gather(*(c.wait_for("bot-ready", within=within) for c in clients))
    return clients
