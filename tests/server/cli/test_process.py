"""`CliProcess` alone: start, feed, read, end; every wait bounded, nothing left behind."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import tempfile
from pathlib import Path

import pytest

from server.cli.command import build_argv, stdin_message
from server.cli.process import CliProcess, pid_running
from server.errors import CliUnavailable
from server.settings import cli_environment
from tests.conftest import Records, wait_until


def gone(path: str) -> bool:
    return not os.path.exists(path)


@pytest.fixture
def start(fake_cli: Path, records: Records):
    """`start(mode, **env)`: the fake CLI as a `CliProcess`, closed after the test."""
    started: list[CliProcess] = []

    async def make(mode: str = "normal", **fake_env: str) -> CliProcess:
        env = cli_environment(os.environ)
        env.update({"FAKE_CLI_MODE": mode, "FAKE_CLI_RECORD_DIR": str(records.dir), **fake_env})
        proc = await CliProcess.start(
            build_argv((str(fake_cli),), "sonnet"), env=env, max_line_bytes=1 << 20
        )
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.signal(signal.SIGKILL)


async def test_a_process_answers_over_its_pipes_and_leaves_nothing(start, records):
    proc = await start()
    await proc.send(stdin_message("What is the capital of France?"))
    lines = [json.loads(line) async for line in proc.lines()]
    assert lines[-1]["type"] == "result" and lines[-1]["result"].startswith("Paris")
    assert await asyncio.wait_for(proc.wait(), 5) == 0
    [record] = await records.wait_for(key="stdin")
    assert record["cwd"] == proc.workdir and record["stdin_eof"]
    await proc.close(0.05)
    assert gone(proc.workdir)


async def test_stderr_is_kept_to_its_last_words(start):
    proc = await start("crash")
    await proc.send(stdin_message("hi"))
    _ = [line async for line in proc.lines()]
    assert await asyncio.wait_for(proc.wait(), 5) == 3
    assert proc.stderr_tail == "fake CLI crashed: segmentation fault"
    await proc.close(0.05)


async def test_close_kills_a_group_that_ignores_sigterm(start, records):
    proc = await start("hang", FAKE_CLI_IGNORE_TERM="1", FAKE_CLI_CHILD="1")
    await proc.send(stdin_message("hi"))
    await anext(proc.lines())  # its first line: it is past start-up, sleeping, deaf to SIGTERM
    [record] = await records.wait_for(key="stdin")
    await asyncio.wait_for(proc.close(0.05), 5)
    assert proc.returncode == -signal.SIGKILL
    assert not pid_running(record["pid"])
    assert await wait_until(lambda: not pid_running(record["child_pid"]), 1.0)


async def test_close_is_bounded_when_an_escaped_grandchild_holds_the_pipes(start, records):
    # The grandchild left the process group, so the group's SIGKILL misses it, and it keeps
    # stdout and stderr open: Python 3.11's Process.wait() alone would wait for it for good.
    proc = await start("hang", FAKE_CLI_ESCAPEE="1")
    await proc.send(stdin_message("hi"))
    [record] = await records.wait_for(key="stdin")
    try:
        assert pid_running(record["escapee_pid"])
        await asyncio.wait_for(proc.close(0.05), 3)
        assert not pid_running(record["pid"])
        assert gone(proc.workdir)
    finally:
        os.kill(record["escapee_pid"], signal.SIGKILL)


async def test_wait_returns_at_exit_while_an_escapee_holds_stderr(start, records):
    proc = await start("normal", FAKE_CLI_ESCAPEE="1")
    await proc.send(stdin_message("hi"))
    [record] = await records.wait_for(key="finished")
    try:
        assert await asyncio.wait_for(proc.wait(), 3) == 0
    finally:
        os.kill(record["escapee_pid"], signal.SIGKILL)
        await proc.close(0.05)


async def test_a_cancelled_spawn_leaves_no_scratch_directory(fake_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    os.mkdir(tempfile.tempdir)
    argv = build_argv((str(fake_cli),), "sonnet")
    for _ in range(20):
        task = asyncio.create_task(CliProcess.start(argv, env=os.environ, max_line_bytes=1024))
        await asyncio.sleep(0)  # the scratch directory exists; the spawn is under way
        assert os.listdir(tempfile.tempdir)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert os.listdir(tempfile.tempdir) == []


async def test_a_missing_executable_is_unavailable_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(CliUnavailable, match="could not start the CLI"):
        await CliProcess.start([str(tmp_path / "nope")], env=os.environ, max_line_bytes=1024)
    assert os.listdir(tmp_path) == []


async def test_pid_running_tells_a_zombie_from_a_live_process():
    child = await asyncio.create_subprocess_exec("sleep", "30")
    assert pid_running(child.pid)
    os.kill(child.pid, signal.SIGKILL)
    # Not reaped yet (or just reaped): either way, not running.
    assert await wait_until(lambda: not pid_running(child.pid), 2.0)
    await child.wait()
    assert not pid_running(child.pid)
