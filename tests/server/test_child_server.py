"""A child server runs as a real process on a free port and never outlives its owner."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest

from server import child_server
from server.child_server import ChildServer, ChildServerError, free_port, server_argv
from server.cli.process import pid_running

# A static file server that ignores SIGTERM when asked to: `argv_for(port)` for the tests.
_SERVE = """
import runpy, signal, sys
if sys.argv[2] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
sys.argv = ["http.server", "--bind", "127.0.0.1", sys.argv[1]]
runpy.run_module("http.server", run_name="__main__")
"""


def serve(mode: str = "polite"):
    return lambda port: [sys.executable, "-c", _SERVE, str(port), mode]


def test_free_port_is_a_port():
    assert 0 < free_port() < 65536


def test_server_argv_passes_every_value_in_flag_equals_form():
    argv = server_argv(8123, cli="-c", model="local", flags=["--warm=0"])

    assert argv[1:3] == ["-m", "server"]
    assert argv[3:] == [
        "--host=127.0.0.1",
        "--port=8123",
        "--cli=-c",
        "--models=local",
        "--default-model=local",
        "--warm=0",
    ]


async def test_serves_until_the_block_ends_then_is_reaped(tmp_path: Path):
    child = ChildServer("files", serve(), cwd=tmp_path, log_path=tmp_path / "log", ready_path="/")
    async with child, aiohttp.ClientSession() as http:
        pid = child.pid
        async with http.get(child.url + "/") as response:
            assert response.status == 200
        assert child.argv[-2] == str(child.port)

    assert pid is not None and not pid_running(pid)
    assert child.pid is None and not child.killed


async def test_a_child_that_ignores_sigterm_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(child_server, "STOP_GRACE", 0.2)
    child = ChildServer("stubborn", serve("stubborn"), cwd=tmp_path, ready_path="/")
    async with child:
        pid = child.pid
        waiter = asyncio.create_task(child.exited())

    assert child.killed and pid is not None and not pid_running(pid)
    assert await waiter == -9


async def test_a_child_that_exits_at_start_up_is_an_error_with_its_log(tmp_path: Path):
    def argv_for(port: int) -> list[str]:
        return [sys.executable, "-c", f"print('no luck on {port}'); raise SystemExit(3)"]

    log = tmp_path / "log"
    with pytest.raises(ChildServerError, match=r"(?s)exited with code 3.*no luck"):
        async with ChildServer("doomed", argv_for, log_path=log):
            pass

    assert log.read_text().count("no luck") == 3  # a new port each time, in case of a race


async def test_cancelled_while_starting_the_child_is_stopped(tmp_path: Path):
    pids = tmp_path / "pids"

    def argv_for(port: int) -> list[str]:
        code = f"import os, time; open({str(pids)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
        return [sys.executable, "-c", code]

    async def start() -> None:
        async with ChildServer("silent", argv_for):
            pass

    task = asyncio.create_task(start())
    for _ in range(200):
        if pids.exists() and pids.read_text():
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert not pid_running(int(pids.read_text()))


async def test_a_child_that_never_answers_times_out(tmp_path: Path):
    def argv_for(port: int) -> list[str]:
        return [sys.executable, "-c", "import time; time.sleep(60)"]

    with pytest.raises(ChildServerError, match="did not answer within 0.3 s"):
        async with ChildServer("silent", argv_for, start_timeout=0.3):
            pass
