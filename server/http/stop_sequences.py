"""Cut an answer's text at the first of the client's stop sequences, delta by delta.

Text that could be the start of a stop sequence is held back until the next delta says
whether it is one, so nothing past a stop sequence ever reaches the client.
"""

from __future__ import annotations


class StopSequences:
    """Feed text deltas to `push`; what it returns may be sent. `hit` is the stop sequence
    met, if any; after it, nothing more is returned."""

    def __init__(self, stops: tuple[str, ...]):
        self._stops = stops
        self._held = ""
        self.hit: str | None = None

    def push(self, text: str) -> str:
        """The part of `held + text` that is safe to send now."""
        if self.hit is not None:
            return ""
        text = self._held + text
        found = [(text.find(s), s) for s in self._stops if s in text]
        if found:
            at, self.hit = min(found)
            self._held = ""
            return text[:at]
        keep = max((_overlap(text, s) for s in self._stops), default=0)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """What is still held back, once the answer is over without a stop sequence."""
        held, self._held = self._held, ""
        return "" if self.hit is not None else held


def _overlap(text: str, stop: str) -> int:
    """The length of the longest end of `text` that begins `stop` (shorter than `stop`)."""
    for n in range(min(len(text), len(stop) - 1), 0, -1):
        if stop.startswith(text[-n:]):
            return n
    return 0
