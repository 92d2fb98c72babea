"""`python -m bench.apis`: the three APIs side by side, and how fast a background run stops.

One server (`python -m server`) answers with the fake CLI, so only the server's own work is
measured. In round robin, each round asks the same question through
`/v1/chat/completions` (openai SDK), `/v1/messages` (anthropic SDK) and `/v1/responses`
(openai SDK), streaming, and times the first text delta. Then, one at a time, background
responses are started on a slow answer, cancelled once their first words are stored, and timed
from the cancel request to its answer and to the CLI process being gone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anthropic
import openai

from bench.server.process_exit import ProcessExit
from bench.stats import format_table, summarize
from harness import fake_cli
from harness.cli_records import cli_records
from server.child_server import ChildServer, server_argv
from server.cli.process import pid_running
from server.settings import cli_environment

QUESTION = "What is the capital of France?"
# Between requests: a warm process takes about 50 ms to replace on 2 cores, and a request
# that starts while that happens waits for the CPU, whichever API it uses.
PAUSE = 0.25


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.apis",
        description="Time to first text on chat completions, Anthropic messages and OpenAI "
        "responses side by side (one server, the fake CLI), and the cancel latency of "
        "background responses.",
    )
    parser.add_argument("-n", "--rounds", type=int, default=30, help="rounds (default 30)")
    parser.add_argument(
        "--cancels", type=int, default=100, help="background cancels to time (default 100)"
    )
    return parser.parse_args(argv)


async def first_text_chat(client: openai.AsyncOpenAI) -> float:
    started = time.perf_counter()
    stream = await client.chat.completions.create(
        model="sonnet", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    first = None
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
    assert first is not None
    return first


async def first_text_messages(client: anthropic.AsyncAnthropic) -> float:
    started = time.perf_counter()
    first = None
    async with client.messages.stream(
        model="sonnet", max_tokens=256, messages=[{"role": "user", "content": QUESTION}]
    ) as stream:
        async for _ in stream.text_stream:
            if first is None:
                first = time.perf_counter() - started
    assert first is not None
    return first


async def first_text_responses(client: openai.AsyncOpenAI) -> float:
    started = time.perf_counter()
    first = None
    async with client.responses.stream(model="sonnet", input=QUESTION) as stream:
        async for event in stream:
            if first is None and event.type == "response.output_text.delta":
                first = time.perf_counter() - started
    assert first is not None
    return first


async def cancel_once(client: openai.AsyncOpenAI, records: Path) -> tuple[float, float]:
    """Start a background response, cancel it once it has said something; the seconds to the
    cancel's answer and to its CLI process being gone."""
    response = await client.responses.create(model="sonnet", input=QUESTION, background=True)
    while True:  # until its first words are stored
        if (await client.responses.retrieve(response.id)).output_text:
            break
        await asyncio.sleep(0.005)
    [pid] = [r["pid"] for r in cli_records(records) if "first_text" in r and pid_running(r["pid"])]
    with ProcessExit(pid) as process:  # its exit, read from a pidfd as bench.server does
        started = time.perf_counter()
        cancelled = await client.responses.cancel(response.id)
        answered = time.perf_counter() - started
        gone = await process.wait() - started
    assert cancelled.status == "cancelled", cancelled.status
    return answered, gone


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-apis-") as scratch:
        work = Path(scratch)
        records = work / "records"
        records.mkdir()
        cli = fake_cli.install(work)
        env = cli_environment(os.environ)
        env.update({"FAKE_CLI_DELAY": "0.02", "FAKE_CLI_RECORD_DIR": str(records)})
        # Long enough (2 s) that every cancel lands mid-answer.
        env["FAKE_CLI_ANSWER"] = " ".join(["Paris is the capital of France."] * 16)
        flags = [f"--db={work / 'responses.db'}", "--warm=2"]
        async with ChildServer(
            "the server",
            lambda port: server_argv(port, cli=cli, model="sonnet", flags=flags),
            env=env,
            log_path=work / "server.log",
        ) as server:
            base = server.url
            chat = openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="none", max_retries=0)
            claude = anthropic.AsyncAnthropic(base_url=base, api_key="none", max_retries=0)
            paths: dict[str, Callable[[], Awaitable[float]]] = {
                "chat completions": lambda: first_text_chat(chat),
                "messages": lambda: first_text_messages(claude),
                "responses": lambda: first_text_responses(chat),
            }
            firsts: dict[str, list[float]] = {name: [] for name in paths}
            for path in paths.values():  # warm-up, not measured
                await path()
            for _ in range(args.rounds):
                for name, path in paths.items():
                    # Each request finds the warm process the one before it used replaced.
                    await asyncio.sleep(PAUSE)
                    firsts[name].append(await path())
            answered, gone = [], []
            for _ in range(args.cancels):
                a, g = await cancel_once(chat, records)
                answered.append(a)
                gone.append(g)
            await chat.close()
            await claude.close()
    summaries = [
        summarize(name, "first text", [v * 1000 for v in values], ok=len(values), failed=0)
        for name, values in firsts.items()
    ]
    summaries += [
        summarize(
            "cancel", "to its answer", [v * 1000 for v in answered], ok=len(answered), failed=0
        ),
        summarize("cancel", "to CLI gone", [v * 1000 for v in gone], ok=len(gone), failed=0),
    ]
    print(format_table(summaries))
    chat_p50 = summaries[0].p50
    for s in summaries[1:3]:
        print(f"{s.label} / chat completions first text p50: {s.p50 / chat_p50:.2f}x")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(parse_args(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
