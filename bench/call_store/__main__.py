"""What recording a call costs the store: each write's time, on SQLite and on PostgreSQL.

    python -m bench.call_store [-n 1000] [--postgres]

Writes `-n` turns (20 per call, each call started and ended as a session does) through
`CallStore`, timing each `add_turn` from the caller's `await` to its commit, on an SQLite
file in a temporary folder and, with `--postgres`, on a throwaway PostgreSQL server
(`harness/postgres.py`, Debian's postgresql) in the same run, side by side. The writes
happen after the bot's answer, off the event loop, so this is the store's own time, not the
caller's: `python -m bench.voice --compare-no-record` shows the caller's side. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.stats import format_table, summarize
from harness.postgres import postgres_server
from server.flags import positive_int
from voice.calls.store import Call, CallStore, Turn

TURNS_PER_CALL = 20
PARTS = tuple(
    (stage, 0.1)
    for stage in ("endpointing_wait", "transcription", "llm_inference", "speech_synthesis")
)


async def write_calls(target: str, turns: int) -> list[float]:
    """Milliseconds each of `turns` turn writes took on the store at `target`."""
    store = CallStore.open(target)
    took: list[float] = []
    try:
        for call in range((turns + TURNS_PER_CALL - 1) // TURNS_PER_CALL):
            call_id = f"bench{call}"
            await store.start_call(Call(call_id, "websocket", None, started=time.time()))
            for number in range(1, min(TURNS_PER_CALL, turns - len(took)) + 1):
                turn = Turn(
                    number,
                    time.time(),
                    "What is the capital of France?",
                    "The capital of France is Paris.",
                    interrupted=False,
                    latency_total=1.5,
                    latency_parts=PARTS,
                )
                start = time.perf_counter()
                await store.add_turn(call_id, turn)
                took.append((time.perf_counter() - start) * 1000)
            await store.end_call(call_id, time.time(), "caller hung up", None)
    finally:
        await store.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.call_store", description=__doc__)
    parser.add_argument("-n", "--turns", type=positive_int, default=1000)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    args = parser.parse_args()
    rows = []
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        targets = {"sqlite": str(folder / "calls.db")}
        if args.postgres:
            targets["postgresql"] = stack.enter_context(postgres_server())
        for name, target in targets.items():
            took = asyncio.run(write_calls(target, args.turns))
            rows.append(summarize(name, "add_turn", took, ok=len(took), failed=0))
    print(f"bench.call_store: {args.turns} turn writes per store (ms)")
    print(format_table(rows))


if __name__ == "__main__":
    main()
