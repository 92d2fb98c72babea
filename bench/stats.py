"""Percentiles, per-series summaries and the summary table every benchmark prints."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

PERCENTILES = (50, 90, 99)


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100) by linear interpolation between closest ranks.

    The same definition as numpy's default (`method="linear"`): with n sorted values the
    percentile sits at rank (n - 1) * q / 100. Raises ValueError on an empty sequence.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0 and 100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """One series (a metric on one path): counts and its distribution in milliseconds."""

    label: str
    metric: str
    ok: int
    failed: int
    count: int  # values behind the percentiles (one per request, or several, as for gaps)
    p50: float | None
    p90: float | None
    p99: float | None
    min: float | None
    max: float | None

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready fields."""
        return asdict(self)


def summarize(label: str, metric: str, values: Sequence[float], *, ok: int, failed: int) -> Summary:
    """Summarize `values` from `ok` good requests; `failed` requests had none to give."""
    if not values:
        return Summary(label, metric, ok, failed, 0, None, None, None, None, None)
    p50, p90, p99 = (percentile(values, q) for q in PERCENTILES)
    return Summary(label, metric, ok, failed, len(values), p50, p90, p99, min(values), max(values))


def median_difference_interval(
    a: Sequence[float],
    b: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """A bootstrap interval for median(a) - median(b).

    On a shared machine two medians drift by tens of milliseconds between runs; the
    interval says how much of a difference the samples can actually resolve.
    """
    if not a or not b:
        raise ValueError("an interval needs values on both sides")
    rng = random.Random(seed)
    diffs = sorted(
        percentile(rng.choices(a, k=len(a)), 50) - percentile(rng.choices(b, k=len(b)), 50)
        for _ in range(resamples)
    )
    tail = (1 - confidence) / 2 * 100
    return percentile(diffs, tail), percentile(diffs, 100 - tail)


_COLUMNS = ("metric", "path", "ok", "failed", "n", "p50", "p90", "p99", "min", "max")


def format_table(summaries: Sequence[Summary]) -> str:
    """A plain-text table: one row per summary, times in milliseconds to one decimal."""
    rows = [list(_COLUMNS)]
    for s in summaries:
        times = [s.p50, s.p90, s.p99, s.min, s.max]
        rows.append(
            [s.metric, s.label, str(s.ok), str(s.failed), str(s.count)]
            + ["-" if t is None else f"{t:.1f}" for t in times]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
