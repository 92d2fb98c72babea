"""A fake phone provider's caller: Twilio's, Telnyx's or Plivo's media stream protocol,
from the webhook on.

It POSTs the voice webhook form-encoded as the provider does, reads the stream URL from the
XML it answers (TwiML or TeXML `<Connect><Stream url>` with `<Parameter>`s, or Plivo's
`<Stream>URL</Stream>`), opens that websocket, sends the provider's opening messages, then
streams 8 kHz mu-law in 160-byte (20 ms) media messages in real time: queued speech, else
silence, as a live phone line does. It records every message the bot sends with its arrival
time (audio payloads decoded to 16-bit PCM), and echoes each playback mark as it arrives,
as the provider does once it has played everything before it.
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
FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law, what a provider sends per media message
FRAME_SECS = FRAME_BYTES / PHONE_RATE
MULAW_ZERO = b"\xff"
_SAME_RATE = SOXRAudioResampler()  # mu-law <-> PCM at 8 kHz both ways: never resamples


@dataclass(frozen=True)
class Stream:
    """Where the webhook's answer connects the call, the parameters it attaches, the XML."""

    url: str
    parameters: dict[str, str]
    xml: str = ""


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
    """POST the voice webhook at `http_url` as a provider does; the XML it answers."""
    request = urllib.request.Request(
        f"{http_url}/",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def parse_stream(xml: str) -> Stream:
    """The stream the webhook's answer connects the call to: TwiML/TeXML's single
    `<Connect><Stream url>` or Plivo's `<Stream>URL</Stream>`; else ValueError."""
    root = ET.fromstring(xml)
    streams = root.findall("./Connect/Stream")
    if len(streams) == 1:
        parameters = {p.get("name", ""): p.get("value", "") for p in streams[0].iter("Parameter")}
        return Stream(url=streams[0].get("url", ""), parameters=parameters, xml=xml)
    plivo = root.findall("./Stream")
    if len(plivo) == 1 and (plivo[0].text or "").strip():
        return Stream(url=(plivo[0].text or "").strip(), parameters={}, xml=xml)
    raise ValueError(f"no single stream in {xml!r}")


class Dialect:
    """How one provider's webhook and media stream look on the wire (Twilio's here)."""

    provider = "twilio"
    clear_event = "clear"
    bot_media_event = "media"
    mark_event = "mark"

    def new_call_form(self) -> dict[str, str]:
        """A webhook form for a new inbound call."""
        return {
            "CallSid": f"CA{uuid.uuid4().hex}",
            "AccountSid": f"AC{uuid.uuid4().hex}",
            "From": "+15550001111",
            "To": "+15550002222",
        }

    def new_stream_id(self) -> str:
        return f"MZ{uuid.uuid4().hex}"

    def opening(self, stream_id: str, form: dict[str, str], parameters: dict[str, str]) -> list:
        """The messages that start the stream, before any media."""
        connected = {"event": "connected", "protocol": "Call", "version": "1"}
        start = {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": stream_id,
            "start": {
                "streamSid": stream_id,
                "accountSid": form["AccountSid"],
                "callSid": form["CallSid"],
                "tracks": ["inbound"],
                "mediaFormat": {
                    "encoding": "audio/x-mulaw",
                    "sampleRate": PHONE_RATE,
                    "channels": 1,
                },
                "customParameters": parameters,
            },
        }
        return [connected, start]

    def event(self, stream_id: str, sequence: int, event: str, body: dict) -> dict:
        """A message from the caller's side: `event` with its `body`."""
        return {
            "event": event,
            "sequenceNumber": str(sequence),
            "streamSid": stream_id,
            event: body,
        }

    def bot_payload(self, message: dict) -> str | None:
        """The base64 audio in a message from the bot, if it is audio."""
        if message.get("event") == self.bot_media_event:
            return message["media"]["payload"]
        return None

    def mark_name(self, message: dict) -> str | None:
        """The name in a playback mark from the bot, if it is one."""
        if message.get("event") == self.mark_event:
            return message["mark"]["name"]
        return None

    def echo(self, stream_id: str, sequence: int, name: str) -> dict:
        """The provider's word that playback reached mark `name`."""
        return self.event(stream_id, sequence, "mark", {"name": name})


class TelnyxDialect(Dialect):
    """Telnyx: TeXML's webhook (`v3:` call ids), snake_case stream messages."""

    provider = "telnyx"

    def new_call_form(self) -> dict[str, str]:
        return {
            "CallSid": f"v3:{uuid.uuid4().hex}",
            "AccountSid": str(uuid.uuid4()),
            "ConnectionId": "1234567890",
            "From": "+15550001111",
            "To": "+15550002222",
        }

    def new_stream_id(self) -> str:
        return str(uuid.uuid4())

    def opening(self, stream_id: str, form: dict[str, str], parameters: dict[str, str]) -> list:
        start = {
            "event": "start",
            "sequence_number": "1",
            "stream_id": stream_id,
            "start": {
                "user_id": str(uuid.uuid4()),
                "call_control_id": form["CallSid"],
                "client_state": "",
                "from": form["From"],
                "to": form["To"],
                "media_format": {"encoding": "PCMU", "sample_rate": PHONE_RATE, "channels": 1},
            },
        }
        return [{"event": "connected", "version": "1.0.0"}, start]

    def event(self, stream_id: str, sequence: int, event: str, body: dict) -> dict:
        return {
            "event": event,
            "sequence_number": str(sequence),
            "stream_id": stream_id,
            event: body,
        }


class PlivoDialect(Dialect):
    """Plivo: `CallUUID` webhooks, a lone `start`, `playAudio`/`clearAudio`/`checkpoint`."""

    provider = "plivo"
    clear_event = "clearAudio"
    bot_media_event = "playAudio"
    mark_event = "checkpoint"

    def new_call_form(self) -> dict[str, str]:
        return {
            "CallUUID": str(uuid.uuid4()),
            "From": "15550001111",
            "To": "15550002222",
            "Direction": "inbound",
            "Event": "StartApp",
        }

    def new_stream_id(self) -> str:
        return str(uuid.uuid4())

    def opening(self, stream_id: str, form: dict[str, str], parameters: dict[str, str]) -> list:
        start = {
            "event": "start",
            "sequenceNumber": 0,
            "start": {
                "callId": form["CallUUID"],
                "streamId": stream_id,
                "accountId": "MA" + uuid.uuid4().hex[:18].upper(),
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": PHONE_RATE},
            },
            "extra_headers": "",
        }
        return [start]

    def event(self, stream_id: str, sequence: int, event: str, body: dict) -> dict:
        return {"event": event, "sequenceNumber": sequence, "streamId": stream_id, event: body}

    def mark_name(self, message: dict) -> str | None:
        return message.get("name") if message.get("event") == self.mark_event else None

    def echo(self, stream_id: str, sequence: int, name: str) -> dict:
        return {
            "event": "playedStream",
            "sequenceNumber": sequence,
            "streamId": stream_id,
            "name": name,
        }


DIALECTS: dict[str, Dialect] = {d.provider: d for d in (Dialect(), TelnyxDialect(), PlivoDialect())}


class PhoneCaller:
    """One call's media stream: a live phone line in, a recording earpiece out."""

    def __init__(self, ws: ClientConnection, dialect: Dialect, stream_id: str):
        self.ws = ws
        self.dialect = dialect
        self.stream_id = stream_id
        self.heard = Heard()
        self.closed = asyncio.Event()
        self._line = LiveLine(FRAME_BYTES, FRAME_SECS, MULAW_ZERO)
        self._timestamp = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._sequence = 1

    @classmethod
    @contextlib.asynccontextmanager
    async def dial(
        cls,
        http_url: str,
        *,
        provider: str = "twilio",
        form: dict[str, str] | None = None,
        stream_url: str | None = None,
    ):
        """Call the app at `http_url` as `provider`: webhook, stream, opening messages, then a
        live line until the block ends (with a `stop`, as when the caller hangs up). With
        `stream_url` (from `POST /start`) there is no webhook: the stream opens there."""
        dialect = DIALECTS[provider]
        form = form or dialect.new_call_form()
        if stream_url:
            stream = Stream(url=stream_url, parameters={})
        else:
            stream = parse_stream(await asyncio.to_thread(call_webhook, http_url, form))
        async with connect(stream.url, max_size=None) as ws:
            caller = cls(ws, dialect, dialect.new_stream_id())
            caller._tasks.append(asyncio.create_task(caller._receive()))
            for message in dialect.opening(caller.stream_id, form, stream.parameters):
                await ws.send(json.dumps(message))
            caller._tasks.append(asyncio.create_task(caller._line.run(caller._send)))
            try:
                yield caller
            finally:
                for task in caller._tasks:
                    task.cancel()
                await asyncio.gather(*caller._tasks, return_exceptions=True)
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(json.dumps(caller._event("stop", {})))

    async def say(self, pcm: bytes) -> float:
        """Speak `pcm` (8 kHz 16-bit mono) down the line; returns when its last frame went."""
        return await self._line.say(await pcm_to_ulaw(pcm, PHONE_RATE, PHONE_RATE, _SAME_RATE))

    async def wait_for_audio(self, *, after: float, within: float) -> float:
        """The arrival of the first bot audio after `after`."""
        return await self._wait(lambda: [t for t, _ in self.heard.media if t > after], within)

    async def wait_for_event(self, event: str, *, after: float, within: float) -> float:
        """The arrival of the first `event` message after `after`."""
        return await self._wait(lambda: self.heard.times(event, after), within)

    async def wait_for_clear(self, *, after: float, within: float) -> float:
        """The arrival of the first buffer-clearing message (the provider's) after `after`."""
        return await self.wait_for_event(self.dialect.clear_event, after=after, within=within)

    def clears(self, after: float = 0.0) -> list[float]:
        """Arrival times of the provider's buffer-clearing message after `after`."""
        return self.heard.times(self.dialect.clear_event, after)

    def marks(self) -> list[tuple[float, str]]:
        """Every playback mark the bot sent: (arrival, name)."""
        named = [(t, self.dialect.mark_name(m)) for t, m in self.heard.events]
        return [(t, name) for t, name in named if name is not None]

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
        return self.dialect.event(self.stream_id, self._sequence, event, body)

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
                if (payload := self.dialect.bot_payload(message)) is not None:
                    ulaw = base64.b64decode(payload)
                    pcm = await ulaw_to_pcm(ulaw, PHONE_RATE, PHONE_RATE, _SAME_RATE)
                    self.heard.media.append((now, pcm))
                elif (name := self.dialect.mark_name(message)) is not None:
                    self._sequence += 1
                    echo = self.dialect.echo(self.stream_id, self._sequence, name)
                    await self.ws.send(json.dumps(echo))
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
