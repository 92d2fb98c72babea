"""An optional timing trace: one JSON line per generated token, for tests and benchmarks.

Each line is `{"pid": ..., "event": ..., "time": <time.time()>}`. The events: `ready`, with
the model's `load_seconds` and `prime_seconds`; `read`, with the `seconds` a read-ahead
message took; `cached`, with the `seconds` a cache-only message took; `token`, written just
before the token's own stdout line; `done`, after an answer's `result` line; and `opening`,
with the `seconds` reading the next user turn's opening after it took. Lines are appended
and flushed one by one, so a reader sees each token's time while the answer is still being
generated.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, TextIO


class TokenTrace:
    """Appends timing lines to a file, or does nothing when made without one."""

    def __init__(self, file: TextIO | None):
        self._file = file
        self._pid = os.getpid()

    @classmethod
    def open(cls, path: str | None) -> TokenTrace:
        """A trace appending to `path`, or a no-op trace when `path` is empty or None."""
        return cls(open(path, "a", encoding="utf-8") if path else None)

    def ready(self, load_seconds: float, prime_seconds: float) -> None:
        """The model is loaded and primed, and the process is about to wait on stdin."""
        self._write(
            "ready", load_seconds=round(load_seconds, 4), prime_seconds=round(prime_seconds, 4)
        )

    def read(self, seconds: float) -> None:
        """A read-ahead message was read into the cache, in `seconds`."""
        self._write("read", seconds=round(seconds, 4))

    def cached(self, seconds: float) -> None:
        """A cache-only message was read into the cache, in `seconds`."""
        self._write("cached", seconds=round(seconds, 4))

    def opening(self, seconds: float) -> None:
        """The next user turn's opening was read into the cache after an answer, in
        `seconds`."""
        self._write("opening", seconds=round(seconds, 4))

    def token(self) -> None:
        """One piece of text was generated and printed."""
        self._write("token")

    def done(self) -> None:
        """An answer was finished and its result line printed."""
        self._write("done")

    def _write(self, event: str, **extra: Any) -> None:
        if self._file is not None:
            record = {"pid": self._pid, "event": event, "time": time.time(), **extra}
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
