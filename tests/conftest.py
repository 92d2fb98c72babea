"""Shared fixtures: the fake CLI, its records, and servers under test."""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import anthropic
import openai
import psycopg
import pytest
from aiohttp.test_utils import TestServer

from harness import fake_anthropic
from harness import fake_cli as fake_cli_module
from harness.postgres import PostgresMissing, postgres_server
from server.http.app import create_app
from server.settings import Settings, cli_environment

ROOT = Path(__file__).parents[1]
CLAUDE_CODE_VERSION = "2.1.197"
CLAUDE_CODE_DIR = ROOT / ".deps" / "claude-code"


@pytest.fixture(scope="session")
def fake_cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake CLI (`harness/fake_cli.py`) as an executable `claude`."""
    return Path(fake_cli_module.install(tmp_path_factory.mktemp("bin")))


def pid_alive(pid: int) -> bool:
    """True while `pid` exists, zombies included (a zombie still answers signal 0)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


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
        overrides.setdefault("warm", 0)  # cold unless a test asks for warm processes
        overrides.setdefault("drain_timeout", 0)  # closed at once unless a test drains
        return Settings(cli_env=env, **overrides)

    return make


@pytest.fixture
async def sdk() -> AsyncIterator[Callable[..., openai.AsyncOpenAI]]:
    """`sdk(server, api_key)`: a real OpenAI client for `server`, closed after the test."""
    clients: list[openai.AsyncOpenAI] = []

    def make(server: TestServer, api_key: str = "unused") -> openai.AsyncOpenAI:
        base_url = str(server.make_url("/v1"))
        clients.append(openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0))
        return clients[-1]

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def claude() -> AsyncIterator[Callable[..., anthropic.AsyncAnthropic]]:
    """`claude(server, api_key)`: a real Anthropic client for `server`."""
    clients: list[anthropic.AsyncAnthropic] = []

    def make(server: TestServer, api_key: str = "unused") -> anthropic.AsyncAnthropic:
        base_url = str(server.make_url("")).rstrip("/")
        clients.append(anthropic.AsyncAnthropic(base_url=base_url, api_key=api_key, max_retries=0))
        return clients[-1]

    yield make
    for client in clients:
        await client.close()


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


def missing_dependency(reason: str) -> None:
    """Skip for lack of `reason` on a developer's machine; fail on CI, where it must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: tests that need it must run)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def _claude_version(binary: Path) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60)
    except OSError:
        return ""
    return out.stdout.split(" ")[0]


@pytest.fixture(scope="session")
def claude_cli() -> Path:
    """The real Claude Code CLI, pinned, installed once with npm into .deps/ and reused."""
    binary = CLAUDE_CODE_DIR / "node_modules" / ".bin" / "claude"
    CLAUDE_CODE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CLAUDE_CODE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several test runs may share the checkout
        if _claude_version(binary) != CLAUDE_CODE_VERSION:
            npm = shutil.which("npm")
            if npm is None:
                missing_dependency("npm is not installed, so the real Claude Code CLI cannot be")
            package = f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}"
            subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(CLAUDE_CODE_DIR),
                    "--no-audit",
                    "--no-fund",
                    "--no-save",
                    package,
                ],
                check=True,
                timeout=900,
                stdout=subprocess.DEVNULL,
            )
        assert _claude_version(binary) == CLAUDE_CODE_VERSION
    return binary


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[fake_anthropic.Upstream, str]]:
    """The fake Anthropic Messages API on a free loopback port, and its base URL."""
    state = fake_anthropic.Upstream()
    server = TestServer(fake_anthropic.create_app(state), host="127.0.0.1")
    await server.start_server()
    yield state, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
def real_settings(
    claude_cli: Path, upstream: tuple[fake_anthropic.Upstream, str], tmp_path: Path
) -> Callable[..., Settings]:
    """Settings that run the real CLI against the fake upstream, with a HOME of its own."""

    def make(**overrides) -> Settings:
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        ours = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE"))}
        env = cli_environment(ours)
        env.update(
            {"HOME": str(home), "ANTHROPIC_BASE_URL": upstream[1], "ANTHROPIC_API_KEY": "sk-test"}
        )
        overrides.setdefault("warm", 0)
        overrides.setdefault("drain_timeout", 0)
        return Settings(cli=str(claude_cli), cli_env=env, **overrides)

    return make


_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """One throwaway PostgreSQL server (Debian's) for the whole run; its URL."""
    try:
        with postgres_server() as url:
            yield url
    except PostgresMissing as e:
        missing_dependency(str(e))


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Where a test's store lives: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        path = str(tmp_path / "sub" / "store.db")
        return lambda: path
    server = request.getfixturevalue("postgres")
    name = f"store_{next(_databases)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = server.rsplit("/", 1)[0] + f"/{name}"
    return lambda: url
