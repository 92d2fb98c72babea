"""Read an OpenAI chat-completions event stream from an aiohttp response, timing each event."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

DONE = "[DONE]"


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One `data:` event: its payload (None for `[DONE]`) and when it was read."""

    at: float  # time.perf_counter()
    payload: dict[str, Any] | None

    @property
    def done(self) -> bool:
        return self.payload is None

    @property
    def content(self) -> str:
        """The chunk's `choices[0].delta.content`, or "" when it carries none."""
        choices = (self.payload or {}).get("choices") or []
        if not choices:
            return ""
        return (choices[0].get("delta") or {}).get("content") or ""

    @property
    def finish_reason(self) -> str | None:
        choices = (self.payload or {}).get("choices") or []
        return choices[0].get("finish_reason") if choices else None

    @property
    def error(self) -> Any:
        """The in-stream error object, if this event is one."""
        return (self.payload or {}).get("error")


async def events(response: aiohttp.ClientResponse) -> AsyncIterator[StreamEvent]:
    """Yield each event as soon as its closing blank line arrives."""
    data: list[str] = []
    while line := await response.content.readline():
        text = line.decode("utf-8").rstrip("\r\n")
        if text.startswith("data:"):
            data.append(text[5:].removeprefix(" "))
        elif not text and data:
            at = time.perf_counter()
            joined = "\n".join(data)
            data = []
            yield StreamEvent(at, None if joined == DONE else json.loads(joined))
