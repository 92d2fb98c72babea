"""Which CLI runs and with what argv: one pure function per decision, never a shell.

`choose_cli` resolves `--cli` (the Claude Code CLI, or the bundled local model behind the same
protocol); `process_spec` says what a process is fixed to at spawn; `build_argv` builds one
process's argv; `stdin_message` carries the prompt.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from server.cli.thinking import CLI_DEFAULT, Thinking

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


def cli_command(cli: str) -> tuple[str, ...]:
    """The argv prefix that starts `cli`: `local` is this interpreter running server.local_cli."""
    if cli == LOCAL:
        return (sys.executable, "-m", "server.local_cli")
    return (cli,)


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """What a CLI process is fixed to when it starts: its `--model` and its thinking."""

    model: str
    thinking: Thinking = CLI_DEFAULT

    def __str__(self) -> str:
        return self.model if self.thinking == CLI_DEFAULT else f"{self.model}, {self.thinking}"


def process_spec(cli: str, model: str, thinking: Thinking = CLI_DEFAULT) -> ProcessSpec:
    """The process a request for `model` with `thinking` needs. Every name the local CLI
    serves is one model, which never thinks, so they share one warm pool instead of one pool
    (and one loaded model) per alias and effort."""
    return ProcessSpec(LOCAL) if cli == LOCAL else ProcessSpec(model, thinking)


def build_argv(command: Sequence[str], model: str) -> list[str]:
    """The argv for one CLI process, started by `command`, answering one prompt from stdin.

    Values travel in `--flag=value` form so that none can be taken for a flag; the prompt
    itself never appears here (it goes over stdin).
    """
    argv = [*command, "-p"]
    argv.append("--input-format=stream-json")
    argv.append("--output-format=stream-json")
    argv.append("--include-partial-messages")  # token deltas as they arrive
    argv.append("--verbose")  # required by stream-json output in print mode
    argv.append(f"--model={model}")
    argv.append("--tools=")  # no tools at all: a caller can never make the server run commands
    argv.append("--no-session-persistence")
    argv.append("--setting-sources=")  # no user or project settings, hooks or CLAUDE.md
    argv.append("--strict-mcp-config")  # no MCP servers
    argv.append("--disable-slash-commands")
    return argv


# Fields of a stdin message only the local CLI reads (the real CLI ignores unknown fields).
READ_AHEAD = "read_ahead"  # read the turns into the conversation; do not answer
REPLACES_ANSWER = "replaces_answer"  # the turns replace the conversation's last answer
CACHE_ONLY = "cache_only"  # read the turns into the cache only; the conversation stays as it is


def stdin_message(
    prompt: str,
    *,
    read_ahead: bool = False,
    replaces_answer: bool = False,
    cache_only: bool = False,
) -> bytes:
    """The one stream-json user message that carries the prompt; `read_ahead`,
    `replaces_answer` and `cache_only` (the local CLI only) say how it continues the
    conversation."""
    message: dict[str, object] = {"type": "user", "message": {"role": "user", "content": prompt}}
    if read_ahead:
        message[READ_AHEAD] = True
    if replaces_answer:
        message[REPLACES_ANSWER] = True
    if cache_only:
        message[CACHE_ONLY] = True
    return json.dumps(message, ensure_ascii=False).encode() + b"\n"
