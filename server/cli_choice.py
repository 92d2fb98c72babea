"""Which CLI answers: the Claude Code CLI, or the bundled local model behind the same protocol."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass

LOCAL = "local"
AUTO = "auto"
CLAUDE_MODELS = ("haiku", "sonnet", "opus")
# The local CLI answers to the Claude aliases too, so a client configured for Claude still works.
LOCAL_MODELS = ("local", *CLAUDE_MODELS)


@dataclass(frozen=True)
class CliChoice:
    """The CLI to run (`local` or an executable), why, and the models it serves by default."""

    cli: str
    reason: str
    models: tuple[str, ...]
    default_model: str


def cli_command(cli: str) -> tuple[str, ...]:
    """The argv prefix that starts `cli`: `local` is this interpreter running server.local_cli."""
    if cli == LOCAL:
        return (sys.executable, "-m", "server.local_cli")
    return (cli,)


def process_model(cli: str, model: str) -> str:
    """The `--model` a process is started with: every name the local CLI serves is one model,
    so they share one warm pool instead of one pool (and one loaded model) per alias."""
    return LOCAL if cli == LOCAL else model


def choose_cli(value: str, which: Callable[[str], str | None] = shutil.which) -> CliChoice:
    """Resolve `--cli`: `auto` takes `claude` from PATH when it is there, else the local model."""
    if value == LOCAL:
        return CliChoice(LOCAL, "--cli local", LOCAL_MODELS, "local")
    if value != AUTO:
        # Processes start in a scratch directory: a relative path must not depend on it.
        path = os.path.abspath(value) if os.sep in value else value
        return CliChoice(path, f"--cli {value}", CLAUDE_MODELS, "sonnet")
    found = which("claude")
    if found:
        return CliChoice("claude", f"found claude on PATH at {found}", CLAUDE_MODELS, "sonnet")
    reason = "no claude on PATH, so the bundled local model (SmolLM2-135M-Instruct)"
    return CliChoice(LOCAL, reason, LOCAL_MODELS, "local")
