"""The comparisons a reader looks for: each path against the baseline, and the goals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.stats import median_difference_interval, percentile

SERVER_ADDED_GOAL_MS = 5.0  # cold - direct TTFC, p50
WARM_RATIO_GOAL = 5.0  # cold / warm TTFC, p50
WARM_OVER_UPSTREAM_GOAL_MS = 60.0  # warm TTFC - the upstream's first-token delay, p50
CANCEL_P99_GOAL_MS = 100.0

Values = Mapping[tuple[str, str], Sequence[float]]  # (metric, path) -> milliseconds


def _p(values: Values, metric: str, path: str, q: float = 50) -> float | None:
    series = values.get((metric, path)) or []
    return percentile(series, q) if series else None


def against_baseline(
    values: Values, metrics: Sequence[str], paths: Sequence[str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Per metric, each path's p50 minus the baseline's (the first path), and their ratio."""
    baseline, others = paths[0], paths[1:]
    width = 20
    lines = [f"Against the baseline ({baseline}): p50 difference, p50 ratio"]
    lines.append("  " + "metric".ljust(8) + "".join(p.rjust(width) for p in others))
    records: list[dict[str, Any]] = []
    for metric in metrics:
        base = _p(values, metric, baseline)
        cells = []
        for path in others:
            p50 = _p(values, metric, path)
            if base is None or p50 is None:
                cells.append("-".rjust(width))
                continue
            ratio = p50 / base if base else None
            ratio_text = f"{ratio:.2f}x" if ratio is not None else "-"
            cells.append(f"{p50 - base:+.1f} ms {ratio_text:>6}".rjust(width))
            records.append(
                {
                    "metric": metric,
                    "path": path,
                    "baseline": baseline,
                    "p50": p50,
                    "baseline_p50": base,
                    "difference_ms": p50 - base,
                    "ratio": ratio,
                }
            )
        if any(cell.strip() != "-" for cell in cells):
            lines.append("  " + metric.ljust(8) + "".join(cells))
    return (lines if others and len(lines) > 2 else []), records


def goals(
    values: Values, paths: Sequence[str], upstream_delay_ms: float | None
) -> tuple[list[str], dict[str, Any]]:
    """The headline figures and whether each meets its goal."""
    lines: list[str] = []
    record: dict[str, Any] = {}
    for figure in (
        _server_added(values, "cold", "direct", "server-added TTFC", SERVER_ADDED_GOAL_MS),
        _server_added(values, "warm", "prestarted", "server-added TTFC on the warm path", None),
        _warm_vs_cold(values),
        _over_upstream(values, paths, upstream_delay_ms),
        _cancel_p99(values, paths),
    ):
        if figure is not None:
            line, key, value = figure
            lines.append(line)
            record[key] = value
    return lines, record


Figure = tuple[str, str, Any] | None  # (line, JSON key, JSON value), or None if not measured


def _ttfc(values: Values, path: str) -> Sequence[float]:
    return values.get(("ttfc", path)) or []


def _server_added(
    values: Values, path: str, baseline: str, name: str, goal: float | None
) -> Figure:
    ours, theirs = _ttfc(values, path), _ttfc(values, baseline)
    if not ours or not theirs:
        return None
    diff = percentile(ours, 50) - percentile(theirs, 50)
    low, high = median_difference_interval(ours, theirs)
    line = (
        f"{name} ({path} - {baseline}, p50): {diff:+.1f} ms, 95% interval [{low:+.1f}, {high:+.1f}]"
    )
    if goal is not None:
        if high < goal:
            verdict = "met"
        elif low >= goal:
            verdict = "missed"
        else:
            verdict = "not resolved, the interval spans it: run more requests"
        line += f" (goal < {goal:g} ms: {verdict})"
    key = f"{path}_minus_{baseline}_ttfc_ms"
    return line, key, {"p50_difference": diff, "interval_95": [low, high]}


def _warm_vs_cold(values: Values) -> Figure:
    cold, warm = _ttfc(values, "cold"), _ttfc(values, "warm")
    if not cold or not warm:
        return None
    ratio = percentile(cold, 50) / percentile(warm, 50)
    verdict = "met" if ratio >= WARM_RATIO_GOAL else "missed"
    line = (
        f"warm vs cold TTFC (cold p50 / warm p50): {ratio:.1f}x "
        f"(goal >= {WARM_RATIO_GOAL:g}x: {verdict})"
    )
    return line, "warm_vs_cold_ttfc_ratio", ratio


def _over_upstream(values: Values, paths: Sequence[str], delay: float | None) -> Figure:
    if delay is None:
        return None
    over = {p: percentile(_ttfc(values, p), 50) - delay for p in paths if _ttfc(values, p)}
    if not over:
        return None
    text = ", ".join(f"{p} {v:.1f}" for p, v in over.items())
    line = f"TTFC p50 minus the upstream's first-token delay ({delay:g} ms): {text} ms"
    if "warm" in over:
        verdict = "met" if over["warm"] <= WARM_OVER_UPSTREAM_GOAL_MS else "missed"
        line += f" (warm goal <= {WARM_OVER_UPSTREAM_GOAL_MS:g} ms: {verdict})"
    return line, "ttfc_p50_over_upstream_ms", over


def _cancel_p99(values: Values, paths: Sequence[str]) -> Figure:
    p99 = {p: percentile(values[("cancel", p)], 99) for p in paths if values.get(("cancel", p))}
    if not p99:
        return None
    missed = [p for p, v in p99.items() if v >= CANCEL_P99_GOAL_MS]
    verdict = f"missed by {', '.join(missed)}" if missed else "met"
    text = ", ".join(f"{p} {v:.1f}" for p, v in p99.items())
    line = f"cancel latency p99: {text} ms (goal < {CANCEL_P99_GOAL_MS:g} ms: {verdict})"
    return line, "cancel_p99_ms", p99
