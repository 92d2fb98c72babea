"""One measuring run of `python -m bench.voice`: start the app, play the calls, stop the app.

Per transport, one after another on the same app (and, with --compare-app, all of it
again on another app started with more flags; with --rounds, all of that again on new apps,
the apps taking turns to go first, each key's rounds pooled): every call connects and asks its
warm-up questions; then the measured questions, all calls at once; then the barge-in trials one at
a time. The app's log is marked at the phase boundaries so its `turn latency` lines can be
told apart by transport and phase.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm import tqdm
from websockets.exceptions import WebSocketException

from bench.voice.audio import (
    INTERRUPTION,
    QUESTIONS,
    STORY_REQUESTS,
    Utterance,
    from_wav,
    synthesized,
)
from bench.voice.barge_in import BargeSample, barge_in_trial
from bench.voice.memory import PeakMemory
from bench.voice.options import VoiceBenchConfig, app_args
from bench.voice.phone import PhoneClient
from bench.voice.report import Results, pooled
from bench.voice.server_log import server_turns
from bench.voice.turns import Connect, TurnFailed, TurnSample, open_calls, run_turns
from bench.voice.webrtc import WebRTCClient
from harness.pipecat_client import VoiceClient
from harness.voice_app import VoiceAppError, start_voice_app
from harness.webrtc_peer import loopback_ice

# How each transport's calls connect; all but the websocket take the app's http base URL.
CONNECTS: dict[str, Connect] = {
    "websocket": VoiceClient.connect,
    "twilio": PhoneClient.connect,
    "webrtc": WebRTCClient.connect,
}


class BenchError(RuntimeError):
    """The run could not start: the app did not come up, or no call could connect."""


def run(config: VoiceBenchConfig) -> tuple[dict[str, Results], list[str] | None]:
    """Measure as `config` says: each transport's results, in order, and the app's command
    (None with --url)."""
    print("bench.voice: synthesizing the caller's speech ...", file=sys.stderr)
    questions = [from_wav(config.audio)] if config.audio else synthesized(QUESTIONS)
    stories = synthesized(STORY_REQUESTS) if config.barge_in_trials else []
    interruption = synthesized((INTERRUPTION,))[0]
    if config.url:
        [transport] = config.transports
        turns, barge_ins, _ = asyncio.run(
            _measure(config, transport, config.url, questions, stories, interruption, lambda: 0)
        )
        return {transport: Results(turns, barge_ins, None)}, None
    args = app_args(config)
    # What is measured on one app, each under its key: every transport, or with
    # --compare-calls every transport with each number of calls.
    steps = [(t, config, t) for t in config.transports]
    if config.compare_calls:
        steps = [
            (f"{t} x{n}", replace(config, calls=n), t)
            for t in config.transports
            for n in config.compare_calls
        ]
    # Each --compare-app (and --compare-no-record) is another app, with its extra flags.
    variants = [("", args), *((f" {name}", (*args, *flags)) for name, flags in config.compare_apps)]
    rounds: dict[str, list[Results]] = {}
    for n in range(config.rounds):
        if config.rounds > 1:
            print(f"bench.voice: round {n + 1} of {config.rounds}", file=sys.stderr)
        # The apps take turns going first (A B, B A, ...): a machine slowing or speeding up
        # over the run does not favour one.
        for suffix, variant_args in variants if n % 2 == 0 else variants[::-1]:
            measured = _on_an_app(config, steps, variant_args, questions, stories, interruption)
            for key, r in measured.items():
                rounds.setdefault(f"{key}{suffix}", []).append(r)
    # In the first round's order: the first app's first, as the ratios read them.
    results = {key: pooled(rounds[key]) for key in rounds}
    return results, [sys.executable, "-m", "voice", "--port=0", *args]


def _on_an_app(
    config: VoiceBenchConfig,
    steps: list[tuple[str, VoiceBenchConfig, str]],
    args: tuple[str, ...],
    questions: list[Utterance],
    stories: list[Utterance],
    interruption: Utterance,
) -> dict[str, Results]:
    """Start `python -m voice ARGS`, measure each step `(key, config, transport)` on it in
    turn (with the app's peak memory during it), stop it."""
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as tmp:
        print(f"bench.voice: starting python -m voice {' '.join(args)}".rstrip(), file=sys.stderr)
        # The app and the bench's peers on 127.0.0.1 only, as the tests have them.
        webrtc = "webrtc" in config.transports
        if webrtc:
            loopback_ice()
        try:
            module = "harness.loopback_voice" if webrtc else "voice"
            app = start_voice_app(Path(tmp), args=args, module=module)
        except VoiceAppError as e:  # its message ends with the app's whole log
            tail = "\n".join(str(e).splitlines()[-15:])
            raise BenchError(f"python -m voice did not start; its log ends:\n{tail}") from e
        try:

            def mark() -> int:
                return app.log_path.stat().st_size

            measured, peaks = {}, {}
            for key, step, transport in steps:
                url = app.ws_url if transport == "websocket" else app.http_url
                with PeakMemory(app.process.pid) as peak:
                    measured[key] = asyncio.run(
                        _measure(step, transport, url, questions, stories, interruption, mark)
                    )
                peaks[key] = peak.mb
        finally:
            app.stop()
        log = app.log_path.read_bytes()
    results = {}
    last = steps[-1][0]
    for key, (turns, barge_ins, marks) in measured.items():
        if key == last:
            marks = (*marks[:3], len(log))  # lines the app wrote as it stopped count too
        results[key] = Results(turns, barge_ins, _server_lines(log, marks), peaks[key])
    return results


def _server_lines(log: bytes, marks: tuple[int, int, int, int]) -> list[dict[str, Any]]:
    """The app's turn lines written between a transport's first and last mark, each with the
    phase whose part of the log it was written in."""
    begin, start, end, finish = marks
    lines = []
    phases = (("warmup", begin, start), ("turn", start, end), ("barge-in", end, finish))
    for phase, a, b in phases:
        part = log[a:b].decode(errors="replace")
        lines += [{"phase": phase, **t} for t in server_turns(part)]
    return lines


async def _measure(
    config: VoiceBenchConfig,
    transport: str,
    url: str,
    questions: list[Utterance],
    stories: list[Utterance],
    interruption: Utterance,
    mark: Callable[[], int],
) -> tuple[list[TurnSample], list[BargeSample], tuple[int, int, int, int]]:
    total = config.calls * (config.warmup + config.turns) + config.barge_in_trials
    within = config.timeout
    connect = CONNECTS[transport]
    begin = mark()
    desc = f"bench.voice {transport}"
    with tqdm(total=total, desc=desc, unit="turn", file=sys.stderr) as bar:
        async with AsyncExitStack() as stack:
            try:
                clients = await open_calls(stack, url, config.calls, within, connect)
            except (OSError, WebSocketException, TimeoutError) as e:
                raise BenchError(f"could not open {config.calls} call(s) on {url}: {e}") from e
            turns = await _all_calls(clients, questions, "warmup", config.warmup, within, bar)
            start = mark()
            turns += await _all_calls(clients, questions, "turn", config.turns, within, bar)
            end = mark()
        bar.set_postfix_str("barge-in", refresh=False)
        barge_ins = []
        for index in range(config.barge_in_trials):
            story = stories[index % len(stories)]
            history = [
                questions[(index + k) % len(questions)] for k in range(config.barge_in_history)
            ]
            sample = BargeSample(index, story.text, [u.text for u in history])
            try:
                await barge_in_trial(
                    url,
                    story,
                    interruption,
                    sample,
                    barge_after=config.barge_after,
                    within=within,
                    history=history,
                    connect=connect,
                )
                sample.ok = True
            except TurnFailed as e:
                sample.fail(str(e))
            except (OSError, WebSocketException) as e:
                sample.fail(f"could not connect: {e}")
            barge_ins.append(sample)
            bar.update(1)
    await asyncio.sleep(0.5)  # the last call's `session ended` and latency lines
    return turns, barge_ins, (begin, start, end, mark())


async def _all_calls(
    clients: list[VoiceClient],
    questions: list[Utterance],
    phase: str,
    count: int,
    within: float,
    progress: tqdm,
) -> list[TurnSample]:
    """`count` turns on every call at once."""
    progress.set_postfix_str(phase, refresh=False)
    calls = await asyncio.gather(
        *(
            run_turns(
                c, questions, call=i, phase=phase, count=count, within=within, progress=progress
            )
            for i, c in enumerate(clients)
        )
    )
    return [sample for call in calls for sample in call]
