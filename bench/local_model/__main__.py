"""Time the local CLI's model: load, first token and tokens per second, cold against warm.

Modes, run side by side (interleaved, so drift on a shared machine hits each alike):

    cold-server  POST a streaming request to the real server, which spawns the local CLI
    cold         spawn the local CLI and write the prompt to its stdin at once
    warm         spawn it, wait for its `init` line (model loaded), then write the prompt

Times are taken where a caller sees them: from the POST (or the stdin write, or the spawn
for `cold`) to the first text, and between the first and last text. Example:

    python -m bench.local_model --runs 10 --json results.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import aclosing
from pathlib import Path

import aiohttp
from aiohttp import web

from bench import sse_stream
from bench.stats import PERCENTILES, percentile
from server.cli.command import build_argv, stdin_message
from server.cli.events import TextDelta
from server.cli.parser import parse_line
from server.http.app import create_app
from server.parent_death import tied_to_parent
from server.prompt import Turn, flatten
from server.settings import Settings, cli_environment

MODES = ("cold-server", "cold", "warm")
QUESTION = "Tell me about the history of Paris."


def cli_argv(extra: list[str]) -> list[str]:
    """The server's argv for the real CLI, with the local CLI in front and `extra` after."""
    return [sys.executable, "-m", "server.local_cli", *build_argv("claude", "local")[1:], *extra]


def cli_env(trace: Path) -> dict[str, str]:
    return {**cli_environment(os.environ), "LOCAL_CLI_TRACE": str(trace)}


async def run_direct(mode: str, question: str, extra: list[str], trace: Path) -> dict:
    """One answer from a local CLI spawned here; `warm` waits for the model before asking."""
    spawned = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *tied_to_parent(cli_argv(extra)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=cli_env(trace),
    )
    assert proc.stdin is not None and proc.stdout is not None
    ready = None
    if mode == "warm":
        await proc.stdout.readline()  # the init line: printed once the model is loaded
        ready = time.monotonic() - spawned
        await asyncio.sleep(0.5)  # as if the request came later
    asked = spawned if mode == "cold" else time.monotonic()
    proc.stdin.write(stdin_message(flatten([Turn("user", question)])))
    proc.stdin.close()
    times = []
    while line := await proc.stdout.readline():
        if isinstance(parse_line(line.decode()), TextDelta):
            times.append(time.monotonic())
    await proc.wait()
    record = _record(mode, asked, times)
    record["spawn_to_ready_s"] = ready
    return record


async def run_server(base_url: str, question: str) -> dict:
    """One streamed answer through the server, which spawns a local CLI for it."""
    body = {"model": "local", "messages": [{"role": "user", "content": question}], "stream": True}
    times = []
    async with aiohttp.ClientSession() as session:
        asked = time.monotonic()
        async with session.post(f"{base_url}/v1/chat/completions", json=body) as response:
            async with aclosing(sse_stream.events(response)) as events:
                async for event in events:
                    if event.content:
                        times.append(time.monotonic())
    return _record("cold-server", asked, times)


def _record(mode: str, asked: float, times: list[float]) -> dict:
    if not times:
        return {"mode": mode, "error": "no text"}
    span = times[-1] - times[0]
    return {
        "mode": mode,
        "ttft_ms": round((times[0] - asked) * 1000, 1),
        "tokens": len(times),
        "tokens_per_s": round((len(times) - 1) / span, 1) if span > 0 else None,
    }


def _last_ready(trace: Path) -> dict:
    """The newest local CLI's start-up times from the trace, in seconds."""
    ready = [json.loads(x) for x in trace.read_text().splitlines() if '"ready"' in x]
    last = ready[-1] if ready else {}
    return {"load_s": last.get("load_seconds"), "prime_s": last.get("prime_seconds")}


async def bench(args: argparse.Namespace) -> list[dict]:
    records: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace.jsonl"
        trace.touch()
        wrapper = Path(tmp) / "claude-local"
        extra = [f"--max-tokens={args.max_tokens}", f"--threads={args.threads}"]
        wrapper.write_text(
            f"#!{sys.executable}\nimport sys\nfrom server.local_cli.__main__ import main\n"
            f"main(sys.argv[1:] + {extra!r})\n"
        )
        wrapper.chmod(0o755)
        # Spawn per request: a warm pool (where the server has one) would hide the cold start.
        fields = {"warm": 0} if "warm" in Settings.__dataclass_fields__ else {}
        settings = Settings(
            cli=str(wrapper),
            models=("local",),
            default_model="local",
            cli_env=cli_env(trace),
            **fields,
        )
        runner = web.AppRunner(create_app(settings), handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            for i in range(args.runs):
                for mode in args.modes:
                    print(f"\rrun {i + 1}/{args.runs} {mode:<12}", end="", file=sys.stderr)
                    if mode == "cold-server":
                        record = await run_server(f"http://{host}:{port}", args.question)
                    else:
                        record = await run_direct(mode, args.question, extra, trace)
                    record.update(_last_ready(trace))
                    record["loadavg_1m"] = os.getloadavg()[0]  # the machine may be shared
                    records.append(record)
                    if args.json:
                        args.json.write(json.dumps(record) + "\n")
                        args.json.flush()
        finally:
            print(file=sys.stderr)
            await runner.cleanup()
    return records


def summary(records: list[dict], modes: list[str]) -> str:
    """A table of p50/p90/p99 per mode, and each mode's median first token against the first."""
    rows = [f"{'mode':<12} {'metric':<16} " + " ".join(f"{f'p{q}':>8}" for q in PERCENTILES)]
    medians = {}
    for mode in modes:
        ok = [r for r in records if r["mode"] == mode and "error" not in r]
        for metric in (
            "ttft_ms",
            "tokens_per_s",
            "load_s",
            "prime_s",
            "spawn_to_ready_s",
            "loadavg_1m",
        ):
            values = [r[metric] for r in ok if r.get(metric) is not None]
            if values:
                cells = " ".join(f"{percentile(values, q):>8.3g}" for q in PERCENTILES)
                rows.append(f"{mode:<12} {metric:<16} {cells}")
        if ok:
            medians[mode] = statistics.median(r["ttft_ms"] for r in ok)
    base = next(iter(medians), None)
    for mode, median in medians.items():
        rows.append(f"first token, {mode} / {base}: {median / medians[base]:.2f}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.local_model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (default 5)")
    parser.add_argument(
        "--modes",
        type=lambda s: s.split(","),
        default=list(MODES),
        help=f"comma-separated, from {','.join(MODES)} (default all)",
    )
    parser.add_argument("--question", default=QUESTION, help="the question asked each run")
    parser.add_argument("--max-tokens", type=int, default=100, help="answer cap (default 100)")
    parser.add_argument("--threads", type=int, default=1, help="the CLI's --threads (default 1)")
    parser.add_argument("--json", type=argparse.FileType("w"), help="write one JSON line per run")
    args = parser.parse_args(argv)
    if unknown := set(args.modes) - set(MODES):
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    records = asyncio.run(bench(args))
    print(summary(records, args.modes))


if __name__ == "__main__":
    main()
