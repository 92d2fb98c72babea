"""`CliProcesses.lease` without HTTP: slot, hand-out, release, reap and refill in one place."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from server.cli.command import stdin_message
from server.cli.process import pid_running
from server.cli.processes import CliProcesses
from server.errors import Busy, CliUnavailable
from tests.conftest import wait_until


@pytest.fixture
async def processes():
    """`processes(settings)`: a started `CliProcesses`, closed after the test."""
    made: list[CliProcesses] = []

    def make(settings) -> CliProcesses:
        made.append(CliProcesses(settings))
        made[-1].start()
        return made[-1]

    yield make
    for p in made:
        await asyncio.wait_for(p.aclose(), 10)


async def test_a_lease_ends_its_process_and_frees_its_slot_once_reaped(processes, fake_settings):
    cli = processes(fake_settings("hang"))
    async with cli.lease("sonnet") as lease:
        proc = lease.proc
        assert cli.health()["slots"]["in_use"] == 1
        assert cli.health()["processes"]["serving_pids"] == [proc.pid]
    assert await wait_until(lambda: cli.health()["slots"]["in_use"] == 0, 2.0)
    assert not pid_running(proc.pid)
    assert cli.health()["processes"]["live"] == 0


async def test_a_full_house_is_busy_and_holds_nothing(processes, fake_settings):
    cli = processes(fake_settings("hang", max_concurrency=1, queue_timeout=0.1))
    async with cli.lease("sonnet"):
        with pytest.raises(Busy):
            async with cli.lease("sonnet"):
                pass
        assert cli.health()["slots"]["in_use"] == 1
        assert cli.supervisor.spawned == 1
    assert await wait_until(lambda: cli.health()["slots"]["in_use"] == 0, 2.0)


async def test_a_cli_that_cannot_start_gives_its_slot_back(processes, fake_settings, tmp_path):
    cli = processes(fake_settings(cli=str(tmp_path / "missing")))
    with pytest.raises(CliUnavailable):
        async with cli.lease("sonnet"):
            pass
    assert cli.health()["slots"]["in_use"] == 0


async def test_cancelling_the_holder_ends_the_process(processes, fake_settings, records):
    cli = processes(fake_settings("hang"))
    leased: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def hold() -> None:
        async with cli.lease("sonnet") as lease:
            leased.set_result(lease.proc.pid)
            await asyncio.sleep(3600)

    task = asyncio.create_task(hold())
    pid = await leased
    task.cancel()  # what aiohttp does to a handler whose client hung up
    assert await wait_until(lambda: not pid_running(pid), 1.0)
    assert await wait_until(lambda: cli.health()["slots"]["in_use"] == 0, 1.0)


async def test_a_lease_takes_a_warm_process_and_the_pool_refills_after(processes, fake_settings):
    cli = processes(fake_settings("hang", warm=1))
    assert await wait_until(lambda: cli.health()["warm"]["sonnet"]["idle"] == 1)
    [warm_pid] = cli.supervisor.live_pids
    async with cli.lease("sonnet") as lease:
        proc = lease.proc
        assert proc.pid == warm_pid
        assert cli.health()["warm"]["sonnet"]["idle"] == 0  # no refill while it answers
    assert await wait_until(lambda: cli.health()["warm"]["sonnet"]["idle"] == 1)
    assert cli.health()["warm"]["sonnet"]["hits"] == 1
    assert cli.supervisor.live == 1 and cli.supervisor.live_pids != [warm_pid]


async def test_an_escaped_grandchild_cannot_hold_a_slot(processes, fake_settings, records):
    cli = processes(fake_settings("hang", fake_env={"FAKE_CLI_ESCAPEE": "1"}))
    async with cli.lease("sonnet") as lease:
        proc = lease.proc
        await proc.send(stdin_message("hi"))
        [record] = await records.wait_for(key="stdin")
    try:
        assert await wait_until(lambda: cli.health()["slots"]["in_use"] == 0, 3.0)
        assert cli.health()["processes"]["live"] == 0
    finally:
        os.kill(record["escapee_pid"], signal.SIGKILL)


async def test_close_ends_busy_and_warm_processes(processes, fake_settings):
    cli = processes(fake_settings("hang", warm=2))
    assert await wait_until(lambda: cli.health()["warm"]["sonnet"]["idle"] == 2)
    async with cli.lease("sonnet"):
        pids = cli.supervisor.live_pids
        await asyncio.wait_for(cli.aclose(), 5)
        assert not any(map(pid_running, pids))
    assert cli.supervisor.live == 0
