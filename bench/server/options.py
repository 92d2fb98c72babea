"""`python -m bench.server`'s command line and the configuration built from it."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from server.cli.command import AUTO, LOCAL, choose_cli
from server.flags import at_least, non_negative_float

BACKENDS = (AUTO, "claude", "fake", "local", "url")
PATHS = ("direct", "prestarted", "cold", "warm")
DEFAULT_PATHS = ("direct", "cold", "warm")
DEFAULT_CLI = Path(__file__).resolve().parents[2] / ".deps/claude-code/node_modules/.bin/claude"


@dataclass(frozen=True)
class BenchConfig:
    """Everything one run was asked to do; recorded whole in the JSON."""

    backend: str  # never auto: the one auto chose
    backend_reason: str  # why this backend, for the terminal and the record
    paths: tuple[str, ...]
    requests: int
    concurrency: int
    cancel_trials: int
    warmup: int
    warm: int
    refill: float
    token_delay_ms: float
    answer_words: int
    prompt: str
    model: str | None
    cli: str | None
    url: str | None
    api_key: str | None
    timeout: float
    json: Path | None
    plot: Path | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, the API key masked."""
        fields = asdict(self)
        fields["api_key"] = "***" if self.api_key else None
        return {k: str(v) if isinstance(v, Path) else v for k, v in fields.items()}


def _paths(text: str) -> tuple[str, ...]:
    paths = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in paths if p not in PATHS]
    if unknown or not paths or len(set(paths)) != len(paths):
        raise argparse.ArgumentTypeError(f"a comma-separated subset of {','.join(PATHS)}")
    return paths


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, every option explained for `--help`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.server",
        description="Measure what a caller of the completions server feels: time to first "
        "content chunk (TTFC), gaps between chunks, total time, and cancel latency (client "
        "disconnect to CLI process exit). Paths run side by side in one run, interleaved "
        "round robin, and are compared against the first one (the baseline). Every answer is "
        "checked (HTTP 200, no error event, finish_reason stop and [DONE], the fake upstream's "
        "exact answer where it is known); a failed request is counted, not timed.",
        epilog="Paths: 'direct' spawns the CLI per request with no server (the server's own "
        "argv, prompt and parser); 'prestarted' spawns it --refill seconds before sending the "
        "prompt and times from the send (the CLI-only baseline for 'warm'); 'cold' goes "
        "through a server started with --warm 0; 'warm' through one started with --warm N. "
        "Servers and the fake upstream are started on free loopback ports and always stopped "
        "at the end. Exits 1 if every request of a path failed, 2 if the run could not start.",
    )
    add = parser.add_argument
    add(
        "--backend",
        choices=BACKENDS,
        default=AUTO,
        help="auto: as the server's own --cli auto, the claude backend when claude is on PATH "
        "(or --cli names a CLI), else local, and says which and why; "
        "claude: the real Claude Code CLI against a fake Anthropic API the bench starts; "
        "fake: the test suite's fake CLI (harness/fake_cli.py), a 25 ms Python start-up that "
        "prints scripted stream-json, so the server's own cost stands out from CLI start-up "
        "noise; local: the bundled local model (--cli local); url: a running server at --url, "
        "through-server path only (default %(default)s)",
    )
    add(
        "-n",
        "--requests",
        type=at_least(1),
        default=8,
        help="measured streaming requests per path (default %(default)s)",
    )
    add(
        "-c",
        "--concurrency",
        type=at_least(1),
        default=1,
        help="requests in flight at once: each round sends one batch of this many concurrent "
        "requests per path in turn; cancel trials always run one at a time "
        "(default %(default)s)",
    )
    add(
        "--paths",
        type=_paths,
        default=DEFAULT_PATHS,
        help="comma-separated paths to compare, from direct,prestarted,cold,warm (see below); "
        "the first is the baseline (default direct,cold,warm; --backend url has one path, url)",
    )
    add(
        "--cancel-trials",
        type=at_least(0),
        default=5,
        help="cancel trials per path, run one at a time; 0 skips them (default %(default)s)",
    )
    add(
        "--warmup",
        type=at_least(0),
        default=1,
        help="unmeasured requests per path before measuring (default %(default)s)",
    )
    add(
        "--warm",
        type=at_least(1),
        default=2,
        help="warm processes per model for the 'warm' server (default %(default)s)",
    )
    add(
        "--refill",
        type=non_negative_float,
        default=1.0,
        help="seconds a warm-path batch keeps the next batch (of any path) waiting from its "
        "start, and after that until the warm server's CLIs use no CPU, so the processes it "
        "took are replaced by ones that have finished starting before anything else is "
        "measured (pool hits and misses are reported); also how long the prestarted path "
        "waits before sending (default %(default)s)",
    )
    add(
        "--token-delay-ms",
        type=non_negative_float,
        default=20.0,
        help="claude and fake backends: the delay before each word (the fake upstream's, the "
        "first included; the fake CLI's, after each word); TTFC minus the upstream's is also "
        "reported (default %(default)s)",
    )
    add(
        "--answer-words",
        type=at_least(4),
        default=10,
        help="claude and fake backends: words in the known answer (default %(default)s)",
    )
    add(
        "--prompt",
        default="What is the capital of France?",
        help="the user message sent (default %(default)r)",
    )
    add(
        "--model",
        help="model to request (default: the CLI's default, sonnet or local; for --backend url "
        "the server's default)",
    )
    add(
        "--cli",
        help="claude backend: the Claude Code CLI executable (default "
        ".deps/claude-code/node_modules/.bin/claude, else claude on PATH); with --backend "
        "auto, a CLI here picks the claude backend, and 'local' the local one",
    )
    add("--url", help="url backend: the server's base URL, e.g. http://127.0.0.1:8000")
    add("--api-key", help="url backend: the server's API key, if it needs one")
    add(
        "--timeout",
        type=non_negative_float,
        default=60.0,
        help="seconds before one request counts as failed (default %(default)s)",
    )
    add(
        "--json",
        type=Path,
        metavar="PATH",
        help="write every raw sample, the summary, machine info and configuration here",
    )
    add(
        "--plot",
        type=Path,
        metavar="PATH",
        help="write a PNG of the latency distributions, one series per path",
    )
    return parser


def choose_backend(
    backend: str, cli: str | None, which: Callable[[str], str | None] = shutil.which
) -> tuple[str, str | None, str]:
    """The backend to run, its CLI (None: the backend's default) and why it was chosen.

    `auto` chooses as the server's `--cli auto` does (`choose_cli`): the real CLI when
    `claude` is on PATH, else the bundled local model; a `--cli` given is the server's
    `--cli` value.
    """
    if backend != AUTO:
        return backend, cli, f"--backend {backend}"
    choice = choose_cli(cli or AUTO, which)
    if choice.cli == LOCAL:
        return "local", None, f"--backend auto: {choice.reason}"
    return "claude", choice.cli, f"--backend auto: {choice.reason}"


def parse_config(
    argv: Sequence[str], which: Callable[[str], str | None] = shutil.which
) -> BenchConfig:
    """Build the configuration from `argv` (`which` finds `claude` for `--backend auto`);
    exits with a usage error on bad values."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.backend, args.cli, reason = choose_backend(args.backend, args.cli, which)
    if args.backend == "url" and not args.url:
        parser.error("--backend url needs --url")
    if args.backend != "url" and args.url:
        parser.error("--url goes with --backend url")
    paths = ("url",) if args.backend == "url" else args.paths
    return BenchConfig(
        backend=args.backend,
        backend_reason=reason,
        paths=paths,
        requests=args.requests,
        concurrency=args.concurrency,
        cancel_trials=args.cancel_trials,
        warmup=args.warmup,
        warm=args.warm,
        refill=args.refill,
        token_delay_ms=args.token_delay_ms,
        answer_words=args.answer_words,
        prompt=args.prompt,
        model=args.model,
        cli=args.cli,
        url=args.url,
        api_key=args.api_key,
        timeout=args.timeout,
        json=args.json,
        plot=args.plot,
    )
