"""Warm CLI processes: served without a spawn on the request path, healthy, bounded, ended."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import aiohttp
import pytest

from server.cli.process import pid_running
from server.http.state import PROCESSES
from tests.conftest import pid_alive, wait_until

BODY = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}


async def ask(server, body=BODY) -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.post(server.make_url("/v1/chat/completions"), json=body) as r:
            assert r.status == 200, await r.text()
            return await r.json()


async def health(server) -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.get(server.make_url("/health")) as r:
            return await r.json()


async def warm_server(serve, settings, size: int):
    server = await serve(settings)
    pools = server.app[PROCESSES].warm
    assert await wait_until(lambda: pools.stats()["sonnet"]["idle"] == size)
    return server


def served_pid(records) -> int:
    [record] = [r for r in records.all() if "stdin" in r]
    return record["pid"]


async def test_a_warm_request_spawns_nothing_on_its_path(serve, fake_settings, records):
    server = await warm_server(serve, fake_settings(warm=2), 2)
    supervisor = server.app[PROCESSES].supervisor
    idle_before = set(supervisor.live_pids)
    spawned_before = supervisor.spawned
    answer = await ask(server)
    assert answer["choices"][0]["message"]["content"] == "Paris is the capital of France."
    assert served_pid(records) in idle_before
    stats = (await health(server))["warm"]["sonnet"]
    assert (stats["hits"], stats["misses"]) == (1, 0)
    # The one replacement was spawned in the background, after the process was handed out.
    assert await wait_until(lambda: server.app[PROCESSES].warm.stats()["sonnet"]["idle"] == 2)
    assert supervisor.spawned == spawned_before + 1


async def test_a_model_without_a_pool_is_served_cold_then_gets_one(serve, fake_settings):
    server = await warm_server(serve, fake_settings(warm=1), 1)
    await ask(server, {**BODY, "model": "haiku"})
    stats = server.app[PROCESSES].warm.stats()
    assert (stats["haiku"]["hits"], stats["haiku"]["misses"]) == (0, 1)
    assert await wait_until(lambda: server.app[PROCESSES].warm.stats()["haiku"]["idle"] == 1)
    await ask(server, {**BODY, "model": "haiku"})
    assert server.app[PROCESSES].warm.stats()["haiku"]["hits"] == 1


@pytest.mark.parametrize("noticed", [True, False])
async def test_a_dead_warm_process_is_never_handed_out(serve, fake_settings, records, noticed):
    server = await warm_server(serve, fake_settings(warm=1), 1)
    [victim] = server.app[PROCESSES].supervisor.live_pids
    os.kill(victim, signal.SIGKILL)  # a crash or the OOM killer while it waits
    if noticed:
        assert await wait_until(lambda: server.app[PROCESSES].warm.stats()["sonnet"]["died"] == 1)
    else:  # dead, but the event loop has not run since: only the hand-out check can tell
        deadline = time.monotonic() + 5
        while pid_running(victim) and time.monotonic() < deadline:
            time.sleep(0.001)  # noqa: ASYNC251 - the loop must not run meanwhile
    answer = await ask(server)
    assert answer["choices"][0]["message"]["content"] == "Paris is the capital of France."
    assert served_pid(records) != victim
    assert server.app[PROCESSES].warm.stats()["sonnet"]["died"] == 1
    assert await wait_until(lambda: not pid_alive(victim))


async def test_pools_refill_after_a_burst_and_stay_bounded(serve, fake_settings):
    settings = fake_settings(warm=2, max_concurrency=3, queue_timeout=30)
    server = await warm_server(serve, settings, 2)
    supervisor = server.app[PROCESSES].supervisor
    most = 0

    async def sample() -> None:
        nonlocal most
        while True:
            most = max(most, supervisor.live)
            await asyncio.sleep(0.002)

    sampler = asyncio.create_task(sample())
    answers = await asyncio.gather(*(ask(server) for _ in range(12)))
    sampler.cancel()
    assert all(a["choices"][0]["message"]["content"] for a in answers)
    assert most <= 3 + 2
    stats = server.app[PROCESSES].warm.stats()["sonnet"]
    assert stats["hits"] >= 2 and stats["hits"] + stats["misses"] == 12
    assert await wait_until(lambda: server.app[PROCESSES].warm.stats()["sonnet"]["idle"] == 2)
    assert await wait_until(lambda: supervisor.live == 2)


async def test_old_idle_processes_are_recycled(serve, fake_settings):
    server = await warm_server(serve, fake_settings(warm=2, warm_max_age=0.3), 2)
    first = set(server.app[PROCESSES].supervisor.live_pids)
    assert await wait_until(lambda: server.app[PROCESSES].warm.stats()["sonnet"]["recycled"] >= 2)
    assert await wait_until(lambda: not any(map(pid_alive, first)))
    assert await wait_until(lambda: server.app[PROCESSES].warm.stats()["sonnet"]["idle"] == 2)


async def test_shutdown_ends_idle_and_busy_processes(serve, fake_settings, records):
    env = {"FAKE_CLI_DELAY": "0.2"}
    server = await warm_server(serve, fake_settings("slow", warm=2, fake_env=env), 2)
    async with aiohttp.ClientSession() as session:
        url = server.make_url("/v1/chat/completions")
        response = await session.post(url, json={**BODY, "stream": True})
        await records.wait_for(key="first_text")
        await records.wait_for(count=2)
        await asyncio.wait_for(server.close(), 5)
        response.close()
    pids = records.pids()
    assert len(pids) >= 2  # the replacement may be ended before it wrote its record
    assert not any(map(pid_alive, pids))
    assert server.app[PROCESSES].supervisor.live == 0


async def test_warm_processes_are_lean_and_wait_on_stdin(serve, fake_settings, records):
    await warm_server(serve, fake_settings(warm=2), 2)
    idle = await records.wait_for(count=2)
    assert len(idle) == 2
    for record in idle:
        assert "stdin" not in record  # still waiting for its prompt
        assert "--model=sonnet" in record["argv"] and "--tools=" in record["argv"]


async def test_health_names_the_process_serving_a_stream(serve, fake_settings, records):
    env = {"FAKE_CLI_DELAY": "0.2"}
    server = await warm_server(serve, fake_settings("slow", warm=1, fake_env=env), 1)
    async with aiohttp.ClientSession() as session:
        url = server.make_url("/v1/chat/completions")
        async with session.post(url, json={**BODY, "stream": True}):
            [record] = await records.wait_for(key="first_text")
            processes = (await health(server))["processes"]
            assert processes["serving_pids"] == [record["pid"]]


async def test_a_request_ending_during_shutdown_starts_no_new_pool(serve, fake_settings):
    env = {"FAKE_CLI_DELAY": "0.2"}
    server = await warm_server(serve, fake_settings("slow", warm=1, fake_env=env), 1)
    async with aiohttp.ClientSession() as session:
        url = server.make_url("/v1/chat/completions")
        response = await session.post(url, json={**BODY, "model": "haiku", "stream": True})
        await response.content.readline()
        await asyncio.wait_for(server.close(), 5)
        response.close()
    await asyncio.sleep(0.3)  # a late refill would have spawned by now
    assert server.app[PROCESSES].supervisor.live == 0
    assert server.app[PROCESSES].warm.stats()["haiku"]["idle"] == 0
