"""What each turn of a conversation costs the local model, its process kept between turns or
not: prompt tokens, how many came from the cache, and the first token's time.

    python -m bench.conversation [-n 8]

Starts the bundled completions server with the local CLI three times: with
`SERVER_CONVERSATIONS=0` (every turn in a fresh process) and `LOCAL_CLI_EXPECTED_SYSTEM=''`
(its waiting processes have read only their own instruction); with `SERVER_CONVERSATIONS=0`
alone (they have read the voice agent's system prompt too, as the voice app has them do); and
with the defaults (the conversation's process kept). It asks the same `-n` questions, with the
voice agent's system prompt, in one conversation on each, re-sending the history as a chat
client does. `--warmup` questions are asked first, each in a
conversation of its own and not measured, while the warm processes the server started with
load the model, and each turn comes `--pause` seconds after the last answer, as a caller's next
question comes after the bot has spoken: the server's processes started meanwhile (a fresh
process per turn has to be replaced) are loaded by then. Two barge-ins end it. `said`: a
question answered, the client keeping only the answer's first two words (what the caller
heard), then another question: a kept process replaces its answer with those. `cut`: a story
asked for and cut at its first words (the client hangs up, and the server kills that
process), then, `--pause` later, a question: kept conversations have a warm process read the
conversation ahead meanwhile. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import openai

from server.flags import non_negative_int, positive_int
from server.local_cli.options import EXPECTED_SYSTEM_ENV
from voice.llm_server import BundledLlmServer
from voice.prompt import SYSTEM_PROMPT as SYSTEM

STORY = "Tell me a long story about a dragon who learns to sing."
QUESTIONS = [
    f"What is the capital of {country}?"
    for country in (
        "France", "Italy", "Spain", "Germany", "Japan", "Portugal", "Greece", "Norway",
        "Egypt", "Peru", "Canada", "Kenya",
    )
]  # fmt: skip


async def conversation(
    turns: int, *, kept: bool, read_ahead: bool, warmup: int, pause: float
) -> list[tuple[int, int, float]]:
    """Per turn: prompt tokens, of which cached, and ms to the first token."""
    # The child inherits the environment.
    if not kept:
        os.environ["SERVER_CONVERSATIONS"] = "0"
    if not read_ahead:
        os.environ[EXPECTED_SYSTEM_ENV] = ""
    try:
        async with BundledLlmServer(cli="local", model="local") as endpoint:
            client = openai.AsyncOpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key)
            for question in QUESTIONS[-warmup:] if warmup else []:
                await client.chat.completions.create(
                    model="local",
                    messages=[
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": question},
                    ],
                )
            messages: list[dict[str, str]] = [{"role": "system", "content": SYSTEM}]
            rows = []
            for question in (QUESTIONS * 2)[:turns]:
                await asyncio.sleep(pause)
                messages.append({"role": "user", "content": question})
                row, answer = await measured(client, messages)
                messages.append({"role": "assistant", "content": answer})
                rows.append(row)
            # A barge-in once the answer is written: the client keeps what the caller heard
            # of it, its first words, and the caller's question comes `pause` later.
            await asyncio.sleep(pause)
            messages.append({"role": "user", "content": QUESTIONS[-2]})
            _, answer = await measured(client, messages)
            await asyncio.sleep(pause)
            messages.append({"role": "assistant", "content": " ".join(answer.split()[:2])})
            messages.append({"role": "user", "content": QUESTIONS[-3]})
            row, answer = await measured(client, messages)
            messages.append({"role": "assistant", "content": answer})
            rows.append(row)
            # A barge-in while it is written: a long answer cut at its first words (the client
            # hangs up), the caller talking over it for `pause`, then their question.
            await asyncio.sleep(pause)
            messages.append({"role": "user", "content": STORY})
            stream = await client.chat.completions.create(
                model="local", messages=messages, stream=True
            )
            heard = ""
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    heard = chunk.choices[0].delta.content
                    break
            await stream.close()
            await asyncio.sleep(pause)
            messages.append({"role": "assistant", "content": heard})
            messages.append({"role": "user", "content": QUESTIONS[-1]})
            rows.append((await measured(client, messages))[0])
            await client.close()
            return rows
    finally:
        os.environ.pop("SERVER_CONVERSATIONS", None)
        os.environ.pop(EXPECTED_SYSTEM_ENV, None)


async def measured(
    client: openai.AsyncOpenAI, messages: list[dict[str, str]]
) -> tuple[tuple[int, int, float], str]:
    """Ask `messages` and read the whole answer: (prompt tokens, of which cached, ms to the
    first token), and the answer."""
    start, first, text, usage = time.perf_counter(), None, [], None
    stream = await client.chat.completions.create(
        model="local", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter()
            text.append(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    cached = usage.prompt_tokens_details.cached_tokens
    return (usage.prompt_tokens, cached, ((first or start) - start) * 1000), "".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.conversation", description=__doc__)
    parser.add_argument("-n", "--turns", type=positive_int, default=8)
    parser.add_argument(
        "--warmup", type=non_negative_int, default=2, help="unmeasured questions first (default 2)"
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=3.0,
        help="seconds between an answer and the next question (default 3)",
    )
    args = parser.parse_args()
    runs = [
        asyncio.run(
            conversation(
                args.turns, kept=kept, read_ahead=ahead, warmup=args.warmup, pause=args.pause
            )
        )
        for kept, ahead in ((False, False), (False, True), (True, True))
    ]
    print("bench.conversation: one conversation's turns on the local model")
    print("turn  prompt  | fresh process           | fresh, system prompt read  | kept")
    print("              |  cached  evaluated  first |  cached  evaluated  first  "
          "|  cached  evaluated  first")  # fmt: skip
    labels = [str(turn) for turn in range(1, args.turns + 1)] + ["said", "cut"]
    for label, rows in zip(labels, zip(*runs, strict=True), strict=True):
        prompt = rows[0][0]
        cells = [f"{c:>7}  {p - c:>9}  {t:>5.0f} ms" for p, c, t in rows]
        print(f"{label:>4}  {prompt:>6}  | " + " | ".join(cells))
    print(
        "(said: after a barge-in once the answer was written, the client keeping its first "
        "words; cut: after one while it was written, a story cut at its first words)"
    )


if __name__ == "__main__":
    main()
