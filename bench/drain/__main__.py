"""`python -m bench.drain`: how long a graceful drain takes, from SIGTERM mid-answer.

Each trial starts `python -m voice` (the fake CLI answering a few seconds of text), asks a
question over `/ws-client`, sends SIGTERM once the bot starts speaking, and times from the
signal: `/ready` answering 503, the answer's last audio, the goodbye, the app hanging up, and
the process exiting (with its code).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.stats import format_table, summarize
from harness import fake_cli
from harness.http_json import http_status
from harness.pipecat_client import VoiceClient
from harness.speech import QUESTION, speak
from harness.voice_app import start_voice_app

ANSWER = (
    "Paris is the capital of France. It sits on the river Seine, and it is known for its "
    "museums, its parks and its bridges."
)
STAGES = ("ready 503", "answer's end", "goodbye starts", "hung up", "process exit")


async def trial(folder: Path, cli: str) -> dict[str, float]:
    """One drain; seconds from SIGTERM to each stage."""
    app = start_voice_app(
        folder,
        env={"VOICE_LLM_CLI": cli, "FAKE_CLI_ANSWER": ANSWER, "FAKE_CLI_DELAY": "0.1"},
    )
    try:
        async with VoiceClient.connect(app.ws_url) as caller:
            await caller.wait_for("bot-ready", within=60)
            said = await caller.say(speak(QUESTION, 16000))
            speaking = await caller.wait_for("bot-started-speaking", after=said, within=60)
            app.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            while True:
                if await asyncio.to_thread(http_status, f"{app.http_url}/ready", 2.0) == 503:
                    break
                await asyncio.sleep(0.01)
            ready = time.monotonic()
            stopped = await caller.wait_for("bot-stopped-speaking", after=speaking, within=60)
            goodbye = await caller.wait_for("bot-started-speaking", after=stopped, within=30)
            await asyncio.wait_for(caller.closed.wait(), 30)
            hung_up = time.monotonic()
        code = await asyncio.to_thread(app.process.wait, 60)
        exited = time.monotonic()
        if code != 0:
            raise RuntimeError(f"the app exited with {code}")
    finally:
        app.stop(signal.SIGKILL)
    marks = (ready, stopped, goodbye, hung_up, exited)
    return {stage: mark - signalled for stage, mark in zip(STAGES, marks, strict=True)}


async def run(trials: int) -> int:
    results: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-drain-") as tmp:
        cli = fake_cli.install(tmp)
        for i in range(trials):
            folder = Path(tmp) / str(i)
            folder.mkdir()
            results.append(await trial(folder, cli))
            print(f"bench.drain: trial {i + 1}/{trials} done", file=sys.stderr)
    rows = [
        summarize(
            "SIGTERM mid-answer",
            f"to {stage}",
            [r[stage] * 1000 for r in results],
            ok=len(results),
            failed=0,
        )
        for stage in STAGES
    ]
    print(format_table(rows))
    print("(ms from SIGTERM; every trial's app exited 0)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.drain",
        description="Time a graceful drain of python -m voice: SIGTERM while the bot answers, "
        "then /ready 503, the answer's end, the goodbye, the hang-up and the exit.",
    )
    parser.add_argument("-n", "--trials", type=int, default=5, help="trials (default 5)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return asyncio.run(run(args.trials))


if __name__ == "__main__":
    sys.exit(main())
