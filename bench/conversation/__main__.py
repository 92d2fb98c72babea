"""What each turn of a conversation costs the local model, its process kept between turns or
not: prompt tokens, how many came from the cache, and the first token's time.

    python -m bench.conversation [-n 8]

Starts the bundled completions server with the local CLI twice, once with
`SERVER_CONVERSATIONS=0` (every turn in a fresh process) and once with its default (the
conversation's process kept), and asks the same `-n` questions in one conversation on each,
re-sending the history as a chat client does. `--warmup` questions are asked first, each in a
conversation of its own and not measured, while the warm processes the server started with
load the model: measured turns then compete with no loading. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import openai

from server.flags import non_negative_int, positive_int
from voice.llm_server import BundledLlmServer

SYSTEM = "You are a helpful assistant on a phone call. Keep answers short."
QUESTIONS = [
    f"What is the capital of {country}?"
    for country in (
        "France", "Italy", "Spain", "Germany", "Japan", "Portugal", "Greece", "Norway",
        "Egypt", "Peru", "Canada", "Kenya",
    )
]  # fmt: skip


async def conversation(turns: int, kept: bool, warmup: int) -> list[tuple[int, int, float]]:
    """Per turn: prompt tokens, of which cached, and ms to the first token."""
    if not kept:
        os.environ["SERVER_CONVERSATIONS"] = "0"  # the child inherits the environment
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
                messages.append({"role": "user", "content": question})
                start, first, text, usage = time.perf_counter(), None, [], None
                stream = await client.chat.completions.create(
                    model="local",
                    messages=messages,
                    stream=True,
                    stream_options={"include_usage": True},
                )
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        first = first or time.perf_counter()
                        text.append(chunk.choices[0].delta.content)
                    usage = chunk.usage or usage
                messages.append({"role": "assistant", "content": "".join(text)})
                cached = usage.prompt_tokens_details.cached_tokens
                rows.append((usage.prompt_tokens, cached, ((first or start) - start) * 1000))
            await client.close()
            return rows
    finally:
        os.environ.pop("SERVER_CONVERSATIONS", None)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.conversation", description=__doc__)
    parser.add_argument("-n", "--turns", type=positive_int, default=8)
    parser.add_argument(
        "--warmup", type=non_negative_int, default=2, help="unmeasured questions first (default 2)"
    )
    args = parser.parse_args()
    fresh = asyncio.run(conversation(args.turns, kept=False, warmup=args.warmup))
    kept = asyncio.run(conversation(args.turns, kept=True, warmup=args.warmup))
    print("bench.conversation: one conversation's turns on the local model")
    print("turn  prompt  | fresh process: cached  evaluated  first token | kept: cached  "
          "evaluated  first token")  # fmt: skip
    for turn, ((prompt, c1, t1), (_, c2, t2)) in enumerate(zip(fresh, kept, strict=True), 1):
        print(
            f"{turn:>4}  {prompt:>6}  | {c1:>21}  {prompt - c1:>9}  {t1:>8.0f} ms "
            f"| {c2:>12}  {prompt - c2:>9}  {t2:>8.0f} ms"
        )


if __name__ == "__main__":
    main()
