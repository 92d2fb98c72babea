"""Build the CLI's argv: one pure function, one line per flag, never a shell."""

from __future__ import annotations

import json
from collections.abc import Sequence


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


def stdin_message(prompt: str) -> bytes:
    """The one stream-json user message that carries the prompt."""
    message = {"type": "user", "message": {"role": "user", "content": prompt}}
    return json.dumps(message, ensure_ascii=False).encode() + b"\n"
