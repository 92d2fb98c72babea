"""What `python -m bench.voice` prints and draws: the summary rows, headline lines and panels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import Panel, plot_panels
from bench.stats import Summary, percentile, summarize
from bench.voice.barge_in import BargeSample
from bench.voice.server_log import SERVER_METRICS
from bench.voice.turns import TurnSample

# (metric name in the table, TurnSample field): what the caller measured per turn.
CLIENT_METRICS = (
    ("client: first audio", "first_audio_ms"),
    ("client: first speech", "first_speech_ms"),
    ("client: answer span", "answer_span_ms"),
    ("client: answer audio", "answer_audio_ms"),
)
# The caller-facing metrics `ratios` compares across transports or apps.
RATIO_METRICS = (
    "client: first audio",
    "client: first speech",
    "barge-in: stop",
    "barge-in: interruption frame",
)
# (metric name in the table, BargeSample field), all from the client starting to talk over.
BARGE_METRICS = (
    ("barge-in: stop", "stop_ms"),
    ("barge-in: interruption frame", "interruption_ms"),
    ("barge-in: bot-interrupted", "bot_interrupted_ms"),
    ("barge-in: reply first audio", "reply_ms"),
)


@dataclass(frozen=True)
class Results:
    """Everything measured in one run."""

    turns: list[TurnSample]  # warm-up turns included (phase "warmup")
    barge_ins: list[BargeSample]
    server: list[dict[str, Any]] | None  # the app's turn lines, each with its phase; None: --url
    peak_mb: float | None = None  # the app's memory (its whole process tree) at its highest
    rounds: tuple[Results, ...] = ()  # with --rounds R > 1: each round's own, these pooled


def pooled(rounds: Sequence[Results]) -> Results:
    """One result of every round's samples, server lines and highest memory, keeping each
    round's own (a single round is returned as it is)."""
    if len(rounds) == 1:
        return rounds[0]
    peaks = [r.peak_mb for r in rounds if r.peak_mb is not None]
    servers = [r.server for r in rounds if r.server is not None]
    return Results(
        turns=[s for r in rounds for s in r.turns],
        barge_ins=[s for r in rounds for s in r.barge_ins],
        server=[line for lines in servers for line in lines] if servers else None,
        peak_mb=max(peaks) if peaks else None,
        rounds=tuple(rounds),
    )


def series(results: Results) -> dict[str, list[float]]:
    """Every metric's values: good measured turns and trials only, the server's measured lines."""
    turns = [s for s in results.turns if s.phase == "turn" and s.ok]
    values = {
        name: [v for s in turns if (v := getattr(s, f)) is not None] for name, f in CLIENT_METRICS
    }
    lines = [t for t in results.server or [] if t["phase"] == "turn"]
    for name, key in SERVER_METRICS if results.server is not None else ():
        values[name] = [t[key] for t in lines if key in t]
    trials = [s for s in results.barge_ins if s.ok]
    for name, f in BARGE_METRICS if results.barge_ins else ():
        values[name] = [v for s in trials if (v := getattr(s, f)) is not None]
    return values


def summaries(results: Results, label: str) -> list[Summary]:
    """One summary per metric, in the table's order: client turn, server, answer, barge-in."""
    values = series(results)
    measured = [s for s in results.turns if s.phase == "turn"]
    turn_counts = {"ok": sum(s.ok for s in measured), "failed": sum(not s.ok for s in measured)}
    trial_counts = {
        "ok": sum(s.ok for s in results.barge_ins),
        "failed": sum(not s.ok for s in results.barge_ins),
    }
    order = [
        *(n for n, _ in CLIENT_METRICS[:2]),
        *(n for n, _ in SERVER_METRICS),
        *(n for n, _ in CLIENT_METRICS[2:]),
    ]
    rows = []
    for name in [*order, *(n for n, _ in BARGE_METRICS)]:
        if not values.get(name) and name.startswith("server:"):
            continue  # a part no turn had (the fake CLI's one-chunk answers skip sentences)
        if name not in values:
            continue
        if name.startswith("server:"):  # log lines, not matched to the client's turns
            counts = {"ok": len(values[name]), "failed": 0}
        else:
            counts = trial_counts if name.startswith("barge-in:") else turn_counts
        rows.append(summarize(label, name, values[name], **counts))
    return rows


def side_by_side(rows_per_transport: Sequence[list[Summary]]) -> list[Summary]:
    """Every transport's rows, each metric's together in the first transport's order."""
    order: dict[str, int] = {}
    for rows in rows_per_transport:
        for row in rows:
            order.setdefault(row.metric, len(order))
    every = [row for rows in rows_per_transport for row in rows]
    return sorted(every, key=lambda row: order[row.metric])  # stable: transports stay in order


def ratios(results: dict[str, Results]) -> list[str]:
    """Each later transport's p50 and p90 over the first's, for the caller-facing metrics."""
    (base, first), *others = results.items()
    lines = []
    for transport, other in others:
        ours, theirs = series(first), series(other)
        for name in RATIO_METRICS:
            if ours.get(name) and theirs.get(name):
                p50 = percentile(theirs[name], 50) / percentile(ours[name], 50)
                p90 = percentile(theirs[name], 90) / percentile(ours[name], 90)
                lines.append(f"{name}: {transport} / {base} = {p50:.2f}x at p50, {p90:.2f}x at p90")
                if by_round := _round_ratios(first, other, name):
                    lines.append(f"{name}: {transport} / {base} at p50 by round: {by_round}")
    return lines


def round_p50s(results: Results, name: str) -> list[float] | None:
    """`name`'s p50 in each of `results`' rounds; None unless pooled from rounds that all
    measured it."""
    values = [series(r).get(name) for r in results.rounds]
    if not values or not all(values):
        return None
    return [percentile(v, 50) for v in values if v]


def _round_ratios(first: Results, other: Results, name: str) -> str | None:
    """`other`'s p50 of `name` over `first`'s, round by round: "0.95x, 1.02x, 0.97x"."""
    ours, theirs = round_p50s(first, name), round_p50s(other, name)
    if not ours or not theirs or len(ours) != len(theirs):
        return None
    return ", ".join(f"{t / o:.2f}x" for o, t in zip(ours, theirs, strict=True))


def headline(results: Results) -> list[str]:
    """Comparisons within the run, which drift on a shared machine far less than its times."""
    values, lines = series(results), []
    client, server = values.get("client: first audio"), values.get("server: total")
    if client and server:
        gap = percentile(client, 50) - percentile(server, 50)
        lines.append(
            f"client first audio p50 is {gap:+.0f} ms from the server's own total p50 (the "
            "network, the output transport, and where each side puts the end of speech)"
        )
    good = [s for s in results.turns if s.phase == "turn" and s.ok]
    if good:
        lag = percentile([s.answer_span_ms - s.answer_audio_ms for s in good], 50)
        lines.append(
            f"answer span - answer audio, p50 per turn: {lag:+.0f} ms (a frame or two under 0: "
            "played out in real time; well over 0: the bot's audio stalled mid-answer)"
        )
    if good and (by_turn := _first_audio_by_turn(good)):
        lines.append(by_turn)
    if by_round := round_p50s(results, "client: first audio"):
        shown = ", ".join(f"{i}: {p50:.0f}" for i, p50 in enumerate(by_round, 1))
        lines.append(f"first audio p50 by round (ms): {shown}")
    if results.peak_mb is not None:
        lines.append(
            f"app memory at its peak: {results.peak_mb:.0f} MB (the app, its completions "
            "server and their CLI processes, resident)"
        )
    if trials := results.barge_ins:
        k = len(trials)
        frames = sum(s.interruption_ms is not None for s in trials)
        rtvi = sum(s.bot_interrupted_ms is not None for s in trials)
        lines.append(
            f"barge-in: {sum(s.ok for s in trials)}/{k} trials ok (the bot fell silent while "
            f"the caller talked over it, then replied); the interruption (protobuf, or a "
            f"phone's clear) arrived in {frames}/{k}, RTVI bot-interrupted in {rtvi}/{k}"
        )
    return lines


def _first_audio_by_turn(good: list[TurnSample]) -> str | None:
    """First audio p50 at each turn of a call, and the last three turns' over the first
    three's (a call whose answers slow as its history grows shows a ratio over 1)."""
    by_turn: dict[int, list[float]] = {}
    for sample in good:
        if sample.first_audio_ms is not None:
            by_turn.setdefault(sample.index, []).append(sample.first_audio_ms)
    if len(by_turn) < 2:
        return None
    turns = sorted(by_turn)
    shown = ", ".join(f"{i + 1}: {percentile(by_turn[i], 50):.0f}" for i in turns)
    line = f"first audio p50 by turn (ms): {shown}"
    if len(turns) >= 6:
        early = [v for i in turns[:3] for v in by_turn[i]]
        late = [v for i in turns[-3:] for v in by_turn[i]]
        ratio = percentile(late, 50) / percentile(early, 50)
        line += f"; turns {turns[-3] + 1}-{turns[-1] + 1} / 1-3 = {ratio:.2f}x at p50"
    return line


def failures(results: Results, limit: int = 5) -> list[str]:
    """The first `limit` failures, one line each."""
    failed: list[TurnSample | BargeSample] = [
        *(s for s in results.turns if not s.ok),
        *(s for s in results.barge_ins if not s.ok),
    ]
    lines = []
    for s in failed[:limit]:
        where = (
            f"call {s.call} {s.phase} {s.index}"
            if isinstance(s, TurnSample)
            else f"barge-in {s.index}"
        )
        lines.append(f"failed: {where}: {s.error}")
    if len(failed) > limit:
        lines.append(f"... and {len(failed) - limit} more (all in the JSON record)")
    return lines


def plot(path: Path, results: dict[str, Results], title: str, marks: dict[str, float]) -> None:
    """One panel per question: first audio, the server's parts, answer length, barge-in; each
    transport's series side by side."""
    every = {transport: series(r) for transport, r in results.items()}

    def pick(names: Sequence[tuple[str, str]], scale: float = 1.0) -> dict[str, list[float]]:
        picked = {}
        for transport, values in every.items():
            suffix = f"\n({transport})" if len(every) > 1 else ""
            for short, name in names:
                if name in values:
                    picked[short + suffix] = [v / scale for v in values[name]]
        return picked

    panels = [
        Panel(
            "user stopped speaking -> first bot audio",
            pick(
                [
                    ("client", "client: first audio"),
                    ("client: first\nspeech", "client: first speech"),
                    ("server total", "server: total"),
                ]
            ),
        ),
        Panel(
            "server-side breakdown",
            pick(
                [
                    ("endpointing", "server: endpointing"),
                    ("STT", "server: STT"),
                    ("LLM first\ntoken", "server: LLM first token"),
                    ("TTS first\naudio", "server: TTS first audio"),
                ]
            ),
        ),
        Panel(
            "answer duration",
            pick([("span", "client: answer span"), ("audio", "client: answer audio")], 1000),
            unit="s",
        ),
        Panel(
            "barge-in: from the caller talking over the bot",
            pick(
                [
                    ("bot audio\nstops", "barge-in: stop"),
                    ("protobuf\ninterruption", "barge-in: interruption frame"),
                    ("RTVI bot-\ninterrupted", "barge-in: bot-interrupted"),
                ]
            ),
            marks=marks,
        ),
    ]
    panels = [p for p in panels if any(p.series.values())]
    if panels:
        plot_panels(path, panels, title)
