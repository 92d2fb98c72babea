"""`CliSupervisor`: every process it spawns ends, released one by one or all at shutdown."""

from __future__ import annotations

import asyncio
import os

from server.cli.command import ProcessSpec
from server.cli.process import pid_running
from server.cli.supervisor import CliSupervisor
from server.settings import cli_environment


def supervisor(fake_cli, records) -> CliSupervisor:
    env = {**cli_environment(os.environ), "FAKE_CLI_MODE": "hang"}
    env["FAKE_CLI_RECORD_DIR"] = str(records.dir)
    return CliSupervisor(cli=str(fake_cli), env=env, max_line_bytes=1024, kill_grace=0.05)


async def test_release_is_immediate_and_idempotent(fake_cli, records):
    cli = supervisor(fake_cli, records)
    proc = await cli.spawn(ProcessSpec("haiku"))
    [record] = await records.wait_for()
    assert "--model=haiku" in record["argv"] and cli.live_pids == [proc.pid]
    reaped = cli.release(proc)
    assert cli.release(proc) is reaped
    assert cli.ending_pids == [proc.pid]
    await asyncio.wait_for(reaped, 2)
    assert cli.live == 0 and cli.ending_pids == [] and cli.spawned == 1
    assert not pid_running(proc.pid)


async def test_aclose_ends_every_live_process(fake_cli, records):
    cli = supervisor(fake_cli, records)
    procs = [await cli.spawn(ProcessSpec("sonnet")) for _ in range(3)]
    cli.release(procs[0])
    await asyncio.wait_for(cli.aclose(), 5)
    assert cli.live == 0
    assert not any(pid_running(p.pid) for p in procs)
