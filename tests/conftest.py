"""Shared fixtures: the fake CLI, its records, and servers under test."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.settings import Settings, cli_environment

FAKE_CLI = Path(__file__).parent / "fake_cli.py"


@pytest.fixture(scope="session")
def fake_cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake CLI as an executable run by this interpreter with `-S`.

    `#!/usr/bin/env python3` may go through a shell shim costing 100 ms a start; this keeps
    the fake's start-up near the real cost of a process (about 25 ms here).
    """
    path = tmp_path_factory.mktemp("bin") / "claude"
    source = FAKE_CLI.read_text().split("\n", 1)[1]
    path.write_text(f"#!{sys.executable} -S\n{source}")
    path.chmod(0o755)
    return path


def pid_alive(pid: int) -> bool:
    """True while `pid` exists, zombies included (a zombie still answers signal 0)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def pid_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (an orphan's zombie is init's to reap)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def wait_until(predicate: Callable[[], bool], within: float = 5.0) -> bool:
    """Poll `predicate` every 5 ms until it holds or `within` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


class Records:
    """What each fake CLI process wrote about itself: argv, cwd, pid, stdin, timestamps."""

    def __init__(self, directory: Path):
        self.dir = directory

    def all(self) -> list[dict]:
        out = []
        for path in sorted(self.dir.glob("*.json")):
            try:
                out.append(json.loads(path.read_text()))
            except ValueError:
                continue  # caught mid-write
        return out

    def pids(self) -> list[int]:
        return [r["pid"] for r in self.all()]

    async def wait_for(self, count: int = 1, key: str = "pid", within: float = 5.0) -> list[dict]:
        def ready() -> bool:
            return len([r for r in self.all() if key in r]) >= count

        assert await wait_until(ready, within), f"no {count} fake CLI record(s) with {key!r}"
        return [r for r in self.all() if key in r]


@pytest.fixture
def records(tmp_path: Path) -> Records:
    directory = tmp_path / "records"
    directory.mkdir()
    return Records(directory)


@pytest.fixture
def fake_settings(records: Records, fake_cli: Path) -> Callable[..., Settings]:
    """Settings that run the fake CLI in `mode`, with any field overridden."""

    def make(mode: str = "normal", *, fake_env: dict | None = None, **overrides) -> Settings:
        env = cli_environment(os.environ)
        env.update({"FAKE_CLI_MODE": mode, "FAKE_CLI_RECORD_DIR": str(records.dir)})
        env.update(fake_env or {})
        overrides.setdefault("cli", str(fake_cli))
        return Settings(cli_env=env, **overrides)

    return make


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Settings], object]]:
    """Start the real app on a loopback port; every server is closed after the test."""
    servers: list[TestServer] = []

    async def start(settings: Settings) -> TestServer:
        server = TestServer(create_app(settings), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()
