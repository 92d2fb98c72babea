"""Measure user-stopped-speaking to first-bot-audio over many turns of one call.

    python -m tests.voice.latency_bench --turns 10 [--json] [-- VOICE_FLAGS...]

Starts `python -m voice --port=0 VOICE_FLAGS`, asks short spoken questions one after
another on one session, and reports p50/p90/max of two views of each turn:
  client    last speech sample sent -> first bot audio frame received (what a caller hears)
  server    the app's own `turn latency` log line: Pipecat's UserBotLatencyObserver total
            and its parts (endpointing, STT, turn detection, LLM, sentence, TTS)
Not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from tests.voice.pipecat_client import VoiceClient
from tests.voice.speech import speak
from tests.voice.voice_app import VoiceApp, start_voice_app

QUESTIONS = [
    "What is the capital of France?",
    "What is the capital of Italy?",
    "What is the capital of Spain?",
    "What is the capital of Germany?",
    "What is the capital of Japan?",
]
LINE = re.compile(r"turn latency (.*?) \| (.*)$", re.M)


def trimmed(pcm: bytes, threshold: int = 300) -> bytes:
    """`pcm` without its trailing silence, so the last chunk sent is the end of speech."""
    samples = np.frombuffer(pcm, dtype=np.int16)
    loud = np.flatnonzero(np.abs(samples) > threshold)
    return samples[: loud[-1] + 1].tobytes() if loud.size else pcm


async def run_turns(app: VoiceApp, turns: int) -> list[float]:
    """Client-side latency of each turn, in seconds."""
    questions = [trimmed(speak(q, 16000)) for q in QUESTIONS]
    latencies = []
    async with VoiceClient.connect(app.ws_url) as client:
        await client.wait_for("bot-ready")
        for turn in range(turns):
            said = await client.say(questions[turn % len(questions)])
            started = await client.wait_for("bot-started-speaking", after=said, within=120)
            first_audio = min(t for t, _, _ in client.received.audio if t > said)
            latencies.append(first_audio - said)
            await client.wait_for("bot-stopped-speaking", after=started, within=120)
            print(f"turn {turn + 1}/{turns}: {latencies[-1]:.3f}s", file=sys.stderr, flush=True)
            await asyncio.sleep(0.5)
    return latencies


def server_turns(log: str) -> list[dict[str, float]]:
    """The figures of every `turn latency` line in the app's log."""
    turns = []
    for head, parts in LINE.findall(log):
        fields = dict(pair.split("=") for pair in f"{head} {parts}".split())
        turns.append({k: float(v) for k, v in fields.items() if v != "-"})
    return turns


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:22} -"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (
        f"{name:22} p50 {statistics.median(ordered):6.3f}  p90 {p90:6.3f}  "
        f"max {ordered[-1]:6.3f}  (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=10, help="turns to measure (default 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON record per turn")
    parser.add_argument("voice_args", nargs="*", help="flags for python -m voice (after --)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = start_voice_app(Path(tmp), args=tuple(args.voice_args))
        try:
            client = asyncio.run(run_turns(app, args.turns))
        finally:
            app.stop()
        server = server_turns(app.log())
    if args.json:
        for latency, parts in zip(client, server, strict=False):
            print(json.dumps({"client_first_audio": round(latency, 3), **parts}))
    print(f"python -m voice {' '.join(args.voice_args)}".rstrip())
    print(summary("client: to first audio", client))
    for key in ["total", "endpointing_wait", "transcription", "turn_detection"]:
        print(summary(f"server: {key}", [t[key] for t in server if key in t]))
    for key in ["llm_inference", "sentence_aggregation", "speech_synthesis"]:
        print(summary(f"server: {key}", [t[key] for t in server if key in t]))


if __name__ == "__main__":
    main()
