"""One measured request (a sample) and the checks that decide whether it counts."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any


class SampleFailed(Exception):
    """A request's answer was wrong or incomplete; the sample counts as failed."""


@dataclass
class Sample:
    """What one request measured, in milliseconds; a failed one keeps only its error."""

    path: str
    phase: str  # "warmup", "latency" or "cancel"
    index: int
    started_at: float = field(default_factory=time.time)  # Unix time, for the record
    ok: bool = False
    error: str | None = None
    pid: int | None = None
    ttfc_ms: float | None = None
    gaps_ms: list[float] = field(default_factory=list)
    total_ms: float | None = None
    cancel_ms: float | None = None
    chunks: int = 0

    def set_stream(self, start: float, chunk_times: list[float], end: float) -> None:
        """Record TTFC, gaps and total from perf_counter times of the start, chunks and end."""
        self.chunks = len(chunk_times)
        if chunk_times:
            self.ttfc_ms = (chunk_times[0] - start) * 1000
            self.gaps_ms = [(b - a) * 1000 for a, b in pairwise(chunk_times)]
        self.total_ms = (end - start) * 1000

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready."""
        return asdict(self)


def check_answer(text: str, expected: str | None) -> None:
    """Raise `SampleFailed` unless `text` is the expected answer (or, with none known, any)."""
    if expected is None:
        if not text.strip():
            raise SampleFailed("the answer was empty")
    elif text != expected:
        raise SampleFailed(
            f"the answer was not the expected one: got {len(text)} characters "
            f"{text[:60]!r}, expected {len(expected)} characters"
        )
