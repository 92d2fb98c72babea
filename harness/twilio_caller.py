"""A fake Twilio caller: the Media Streams protocol as Twilio speaks it, from the webhook on.

It POSTs the voice webhook form-encoded as Twilio does, reads the TwiML's
`<Connect><Stream url>` and `<Parameter>`s, opens that websocket, sends `connected` and
`start`, then streams 8 kHz mu-law in 160-byte (20 ms) `media` messages in real time:
queued speech, else silence, as a live phone line does. It records every message the bot
sends with its arrival time (`media` payloads decoded to 16-bit PCM, `clear` events).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from pipecat.audio.resamplers.soxr_resampler import SOXRAudioResampler
from pipecat.audio.utils import pcm_to_ulaw, ulaw_to_pcm
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from harness.live_line import LiveLine

PHONE_RATE = 8000
FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law, what Twilio sends per media message
FRAME_SECS = FRAME_BYTES / PHONE_RATE
MULAW_ZERO = b"\xff"
_SAME_RATE = SOXRAudioResampler()  # mu-law <-> PCM at 8 kHz both ways: never resamples


@dataclass(frozen=True)
class Stream:
    """Where the webhook's TwiML connects the call, and the parameters it attaches."""

    url: str
    parameters: dict[str, str]


@dataclass
class Heard:
    """Everything the bot sent, each with its `time.monotonic()` arrival."""

    media: list[tuple[float, bytes]] = field(default_factory=list)  # 8 kHz 16-bit PCM
    events: list[tuple[float, dict]] = field(default_factory=list)

    def audio_between(self, start: float, end: float = float("inf")) -> bytes:
        """The bot's audio (8 kHz 16-bit PCM) that arrived in [start, end)."""
        return b"".join(a for t, a in self.media if start <= t < end)

    def times(self, event: str, after: float = 0.0) -> list[float]:
        """Arrival times of messages with `event` after `after`."""
        return [t for t, m in self.events if m.get("event") == event and t > after]


def call_webhook(http_url: str, form: dict[str, str], headers: dict[str, str] | None = None) -> str:
    """POST the voice webhook at `http_url` as Twilio does; the TwiML it answers."""
    request = urllib.request.Request(
        f"{http_url}/",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def parse_twiml(twiml: str) -> Stream:
    """The `<Connect><Stream>` in `twiml`; raises ValueError if it has none."""
    streams = ET.fromstring(twiml).findall("./Connect/Stream")
    if len(streams) != 1:
        raise ValueError(f"no single <Connect><Stream> in {twiml!r}")
    parameters = {p.get("name", ""): p.get("value", "") for p in streams[0].iter("Parameter")}
    return Stream(url=streams[0].get("url", ""), parameters=parameters)


def new_call_form() -> dict[str, str]:
    """A webhook form for a new inbound call."""
    return {
        "CallSid": f"CA{uuid.uuid4().hex}",
        "AccountSid": f"AC{uuid.uuid4().hex}",
        "From": "+15550001111",
        "To": "+15550002222",
    }


def start_message(stream_sid: str, form: dict[str, str], parameters: dict[str, str]) -> dict:
    """Twilio's `start` message for a call from `form` with the TwiML's `parameters`."""
    return {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": stream_sid,
        "start": {
            "streamSid": stream_sid,
            "accountSid": form["AccountSid"],
            "callSid": form["CallSid"],
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": PHONE_RATE, "channels": 1},
            "customParameters": parameters,
        },
    }


class TwilioCaller:
    """One call's media stream: a live phone line in, a recording earpiece out."""

    def __init__(self, ws: ClientConnection, stream_sid: str):
        self.ws = ws
        self.stream_sid = stream_sid
        self.heard = Heard()
        self.closed = asyncio.Event()
        self._line = LiveLine(FRAME_BYTES, FRAME_SECS, MULAW_ZERO)
        self._timestamp = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._sequence = 1

    @classmethod
    @contextlib.asynccontextmanager
    async def dial(cls, http_url: str, *, form: dict[str, str] | None = None):
        """Call the app at `http_url`: webhook, stream, `connected` + `start`, then a live line
        until the block ends (with a `stop`, as when the caller hangs up)."""
        form = form or new_call_form()
        stream = parse_twiml(await asyncio.to_thread(call_webhook, http_url, form))
        async with connect(stream.url, max_size=None) as ws:
            caller = cls(ws, f"MZ{uuid.uuid4().hex}")
            caller._tasks.append(asyncio.create_task(caller._receive()))
            await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1"}))
            await ws.send(json.dumps(start_message(caller.stream_sid, form, stream.parameters)))
            caller._tasks.append(asyncio.create_task(caller._line.run(caller._send)))
            try:
                yield caller
            finally:
                for task in caller._tasks:
                    task.cancel()
                await asyncio.gather(*caller._tasks, return_exceptions=True)
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(json.dumps(caller._event("stop", {"callSid": form["CallSid"]})))

    async def say(self, pcm: bytes) -> float:
        """Speak `pcm` (8 kHz 16-bit mono) down the line; returns when its last frame went."""
        return await self._line.say(await pcm_to_ulaw(pcm, PHONE_RATE, PHONE_RATE, _SAME_RATE))

    async def wait_for_audio(self, *, after: float, within: float) -> float:
        """The arrival of the first bot audio after `after`."""
        return await self._wait(lambda: [t for t, _ in self.heard.media if t > after], within)

    async def wait_for_event(self, event: str, *, after: float, within: float) -> float:
        """The arrival of the first `event` message after `after`."""
        return await self._wait(lambda: self.heard.times(event, after), within)

    async def wait_for_quiet(self, *, after: float, quiet: float, within: float) -> float:
        """Wait until no bot audio has come for `quiet` seconds; the last arrival's time."""
        deadline = time.monotonic() + within
        while True:
            last = max([t for t, _ in self.heard.media if t > after], default=after)
            if time.monotonic() - last >= quiet:
                return last
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot was still talking after {within}s")
            await asyncio.sleep(0.05)

    async def _wait(self, found, within: float) -> float:
        deadline = time.monotonic() + within
        while not (times := found()):
            if time.monotonic() > deadline:
                kinds = sorted({m.get("event") for _, m in self.heard.events})
                raise TimeoutError(f"nothing within {within}s; saw events {kinds}")
            if self.closed.is_set():
                raise ConnectionError("the app closed the stream")
            await asyncio.sleep(0.02)
        return times[0]

    def _event(self, event: str, body: dict) -> dict:
        self._sequence += 1
        key = "media" if event == "media" else event
        return {
            "event": event,
            "sequenceNumber": str(self._sequence),
            "streamSid": self.stream_sid,
            key: body,
        }

    async def _send(self, frame: bytes) -> None:
        media = {
            "track": "inbound",
            "chunk": str(self._sequence),
            "timestamp": str(self._timestamp),
            "payload": base64.b64encode(frame).decode(),
        }
        self._timestamp += int(FRAME_SECS * 1000)
        await self.ws.send(json.dumps(self._event("media", media)))

    async def _receive(self) -> None:
        try:
            async for data in self.ws:
                now = time.monotonic()
                message = json.loads(data)
                self.heard.events.append((now, message))
                if message.get("event") == "media":
                    ulaw = base64.b64decode(message["media"]["payload"])
                    pcm = await ulaw_to_pcm(ulaw, PHONE_RATE, PHONE_RATE, _SAME_RATE)
                    self.heard.media.append((now, pcm))
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
