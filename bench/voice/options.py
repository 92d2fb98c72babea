"""`python -m bench.voice`'s command line and the configuration built from it."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from server.flags import at_least, positive_float

# Beyond this, `python -m voice` refuses sessions unless `--max-sessions` is raised.
VOICE_DEFAULT_MAX_SESSIONS = 8
TRANSPORTS = ("websocket", "twilio", "webrtc")


@dataclass(frozen=True)
class VoiceBenchConfig:
    """Everything one run was asked to do; recorded whole in the JSON."""

    turns: int
    calls: int
    warmup: int
    barge_in_trials: int
    barge_after: float
    audio: Path | None
    verify: bool
    url: str | None
    transports: tuple[str, ...]
    llm_cli: str | None
    voice_args: tuple[str, ...]
    compare_no_record: bool
    label: str
    timeout: float
    json: Path | None
    plot: Path | None
    compare_calls: tuple[int, ...] = ()
    compare_apps: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, its extra flags)
    barge_in_history: int = 0
    rounds: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}

    def label_for(self, transport: str) -> str:
        """The name of `transport`'s rows: the label, with the transport unless a websocket."""
        return self.label if transport == "websocket" else f"{self.label} ({transport})"


def _calls_list(text: str) -> tuple[int, ...]:
    try:
        calls = tuple(dict.fromkeys(int(n) for n in text.split(",") if n.strip()))
    except ValueError:
        calls = ()
    if not calls or min(calls) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: numbers of calls, 1 or more, comma-separated")
    return calls


def _named_flags(text: str) -> tuple[str, tuple[str, ...]]:
    name, sep, flags = text.partition("=")
    split = tuple(shlex.split(flags))
    if not sep or not name.strip() or name.startswith("-") or not split:
        raise argparse.ArgumentTypeError(
            f"{text!r}: NAME=FLAGS, e.g. 'clause=--first-clause --stt-window=30'"
        )
    return name.strip(), split


def _transport_list(text: str) -> tuple[str, ...]:
    transports = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    unknown = [t for t in transports if t not in TRANSPORTS]
    if unknown or not transports:
        raise argparse.ArgumentTypeError(
            f"{text!r}: choose one or more of {', '.join(TRANSPORTS)}, comma-separated"
        )
    return transports


def app_args(config: VoiceBenchConfig) -> tuple[str, ...]:
    """The flags for the `python -m voice` the bench starts; the user's own come last and win."""
    args: list[str] = []
    most = max((config.calls, *config.compare_calls))
    if most > VOICE_DEFAULT_MAX_SESSIONS:
        args.append(f"--max-sessions={most}")
    if config.llm_cli:
        args.append(f"--llm-cli={config.llm_cli}")
    return (*args, *config.voice_args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, every option explained for `--help`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.voice",
        usage="%(prog)s [options] [-- VOICE_FLAGS ...]",
        description="Measure the voice agent over its websocket as a caller feels it. Each "
        "call is one /ws-client session (or, with --transport twilio, one fake Twilio call) "
        "that speaks questions in real time (then silence, as "
        "a live microphone does) and times, per turn: the last speech sample sent to the "
        "first bot audio frame received; the answer's span (first to last bot audio frame) "
        "and its audio's own length. Barge-in trials then talk over a long answer and time "
        "the client starting to speak to the last bot audio frame of that answer, and to the "
        "protobuf interruption and RTVI bot-interrupted messages. When the bench starts the "
        "app itself, the app's own `turn latency` log lines give the server-side breakdown "
        "(endpointing, STT, LLM first token, TTS first audio). Every answer is checked: bot "
        "audio that is not silent and, with --verify, words Whisper can make out; a barge-in "
        "must stop the bot while the caller is still talking. Failures are counted, not timed.",
        epilog="VOICE_FLAGS after `--` go to the `python -m voice --port=0` the bench starts "
        "(e.g. `-- --llm-cli=harness/fake_cli.py` with FAKE_CLI_* in the environment, or "
        "`-- --turn-stop=smart-turn`); VOICE_* environment variables are not passed on. The "
        "app is stopped at the end, also on Ctrl-C. Exits 1 when every turn or every barge-in "
        "trial failed, 2 when the run could not start.",
    )
    add = parser.add_argument
    add(
        "-n",
        "--turns",
        type=at_least(1),
        default=5,
        help="measured questions per call, one after another on its session (default %(default)s)",
    )
    add(
        "-c",
        "--calls",
        type=at_least(1),
        default=1,
        help="concurrent calls, each its own websocket session on the one app, all asking "
        "at once (default %(default)s)",
    )
    add(
        "--warmup",
        type=at_least(0),
        default=1,
        help="unmeasured questions per call before the measured ones (default %(default)s)",
    )
    add(
        "--barge-in-trials",
        type=at_least(0),
        default=3,
        metavar="K",
        help="barge-in trials, one at a time, each on a new session after the turns; 0 skips "
        "them (default %(default)s)",
    )
    add(
        "--barge-after",
        type=positive_float,
        default=1.0,
        metavar="SECONDS",
        help="seconds of bot audio before the client talks over it (default %(default)s)",
    )
    add(
        "--barge-in-history",
        type=at_least(0),
        default=0,
        metavar="N",
        help="questions each barge-in trial's session asks, and hears answered, before the "
        "long answer it talks over, so the reply comes in a call with that much history, as "
        "in a long call (default %(default)s: a new session's first question)",
    )
    add(
        "--audio",
        type=Path,
        metavar="PATH",
        help="a WAV question to play every turn instead of the synthesized ones (PCM, any "
        "rate, mono or not: mixed down and resampled to 16 kHz; silence at either end is "
        "trimmed so the last sample sent is the end of speech)",
    )
    add(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="transcribe each answer with the project's Whisper once measuring is done and "
        "fail turns where it hears no words or decodes with an average log probability under "
        "-1.0 (Whisper's own threshold for a failed decode) (default: on for the synthesized "
        "questions, off with --audio)",
    )
    add(
        "--llm-cli",
        metavar="CLI",
        help="the started app's --llm-cli: local, claude, or an executable such as "
        "harness/fake_cli.py (default: the app's own, local)",
    )
    add(
        "--transport",
        type=_transport_list,
        default=("websocket",),
        metavar="websocket,twilio,webrtc",
        help="how each call reaches the app: websocket, a /ws-client session; twilio, a "
        "fake Twilio call (POST / then the Media Stream it names, 8 kHz mu-law, answers ended "
        "by 2 s of silence since a phone gets no RTVI, and the interruption row timing "
        "Twilio's clear); or webrtc, an aiortc peer at /api/offer (48 kHz Opus; bot audio is "
        "its frames over 300 RMS, answers ended by 2 s without one). Several, comma-separated, "
        "measure each in turn on the one app and print them side by side with their ratios "
        "over the first (default websocket)",
    )
    add(
        "--compare-no-record",
        action="store_true",
        help="measure everything twice, on an app that records calls (the default) and then "
        "on one started with --no-record, and print both side by side with their ratios: what "
        "recording costs a turn",
    )
    add(
        "--compare-app",
        type=_named_flags,
        action="append",
        default=[],
        metavar="NAME=FLAGS",
        help="measure everything again on another app started with these extra flags (after "
        "the run's own), named NAME in the table, e.g. 'before=--no-early-answer "
        "--stt-window=30'; repeat it for more, each printed side by side with its ratios "
        "over the first",
    )
    add(
        "--rounds",
        type=at_least(1),
        default=1,
        metavar="R",
        help="measure everything R times, each round on newly started apps, the apps of a "
        "comparison taking turns to go first (A B, B A, A B ...), and pool the rounds "
        "(default %(default)s). A shared machine's speed drifts from one minute to the "
        "next; the per-round lines (each round's p50, and each round's ratio to the first "
        "app's) show a difference that holds in every round apart from one the drift made",
    )
    add(
        "--compare-calls",
        type=_calls_list,
        default=(),
        metavar="N,M,...",
        help="measure with each number of concurrent calls in turn (instead of -c) on the one "
        "app, and print them side by side with their ratios over the first and the app's peak "
        "memory (the app, its server and their processes) during each: latency against "
        "concurrency, for a capacity model",
    )
    add(
        "--url",
        help="benchmark an agent that is already running at this websocket URL, e.g. "
        "ws://127.0.0.1:7860/ws-client (with --transport twilio or webrtc, its http(s) base "
        "URL, e.g. http://127.0.0.1:7860), instead of starting one (no server-side breakdown)",
    )
    add(
        "--label",
        help="the configuration's name in the table, plot and JSON (default: url, the "
        "--llm-cli's file name, or local)",
    )
    add(
        "--timeout",
        type=positive_float,
        default=60.0,
        metavar="SECONDS",
        help="seconds from the end of a question to the first bot audio, and from there to "
        "the answer's end, before a turn counts as failed (default %(default)s)",
    )
    add(
        "--json",
        type=Path,
        metavar="PATH",
        help="write every raw sample, the summary, machine info, versions and configuration",
    )
    add("--plot", type=Path, metavar="PATH", help="write a PNG of the distributions")
    return parser


def parse_config(argv: Sequence[str]) -> VoiceBenchConfig:
    """Build the configuration from `argv`; exits with a usage error on bad values."""
    argv = list(argv)
    split = argv.index("--") if "--" in argv else len(argv)
    ours, voice_args = argv[:split], tuple(argv[split + 1 :])
    parser = build_parser()
    args = parser.parse_args(ours)
    if args.url and (voice_args or args.llm_cli):
        parser.error("--url benchmarks a running agent: --llm-cli and VOICE_FLAGS do not apply")
    if args.url and args.compare_calls:
        parser.error("--compare-calls reads the app's memory: it starts its own, not --url")
    compare_apps = tuple(args.compare_app)
    if args.compare_no_record:
        compare_apps += (("no-record", ("--no-record",)),)
    if args.compare_calls and compare_apps:
        parser.error("--compare-calls and --compare-app/--compare-no-record: one comparison a run")
    if args.url and compare_apps:
        parser.error("--compare-app and --compare-no-record start their own apps: not with --url")
    if args.url and args.rounds > 1:
        parser.error("--rounds starts new apps each round: not with --url")
    if args.url and len(args.transport) > 1:
        parser.error("--url takes one --transport (its URL differs per transport)")
    http = args.transport[0] != "websocket"
    schemes = ("http://", "https://") if http else ("ws://", "wss://")
    if args.url and not args.url.startswith(schemes):
        kinds = " or ".join(schemes)
        parser.error(f"--url must be a {kinds} URL with --transport {args.transport[0]}")
    if args.audio and not args.audio.is_file():
        parser.error(f"--audio {args.audio}: no such file")
    return VoiceBenchConfig(
        turns=args.turns,
        calls=args.calls,
        warmup=args.warmup,
        barge_in_trials=args.barge_in_trials,
        barge_after=args.barge_after,
        barge_in_history=args.barge_in_history,
        audio=args.audio,
        verify=args.audio is None if args.verify is None else args.verify,
        url=args.url,
        transports=args.transport,
        llm_cli=args.llm_cli,
        voice_args=voice_args,
        compare_no_record=args.compare_no_record,
        label=args.label or _default_label(args.url, args.llm_cli, voice_args),
        timeout=args.timeout,
        json=args.json,
        plot=args.plot,
        compare_calls=args.compare_calls,
        compare_apps=compare_apps,
        rounds=args.rounds,
    )


def _default_label(url: str | None, llm_cli: str | None, voice_args: Sequence[str]) -> str:
    if url:
        return "url"
    for arg in voice_args:
        if arg.startswith("--llm-cli="):
            llm_cli = arg.split("=", 1)[1]  # the app's argparse lets the last one win too
    return Path(llm_cli).name if llm_cli else "local"
