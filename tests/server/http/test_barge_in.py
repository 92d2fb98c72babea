"""A client that hangs up ends its CLI at once; so does shutdown; nothing is left behind."""

from __future__ import annotations

import asyncio
import json
import os
import random

import aiohttp
import pytest

from server.cli.process import pid_running
from server.http.state import PROCESSES
from tests.conftest import pid_alive, wait_until

LONG = " ".join(f"word{i}" for i in range(400))
BODY = {"messages": [{"role": "user", "content": "Tell me a long story."}], "stream": True}


def slow_settings(fake_settings, delay: float = 0.05, **overrides):
    env = {"FAKE_CLI_DELAY": str(delay), "FAKE_CLI_ANSWER": LONG}
    return fake_settings("slow", fake_env=env, **overrides)


async def read_first_content(response: aiohttp.ClientResponse) -> None:
    async for line in response.content:
        if line.startswith(b"data: {") and b'"content"' in line:
            return


@pytest.mark.parametrize("warm", [0, 2])
async def test_disconnect_mid_stream_kills_the_cli(serve, fake_settings, records, warm):
    server = await serve(slow_settings(fake_settings, 0.5, warm=warm))
    async with aiohttp.ClientSession() as session:
        response = await session.post(server.make_url("/v1/chat/completions"), json=BODY)
        await read_first_content(response)
        [record] = await records.wait_for(key="first_text")
        assert pid_alive(record["pid"])
        response.close()  # what Pipecat's OpenAI client does when the user barges in
    # The CLI sleeps 0.5 s between tokens: it is ended, not left to notice a broken pipe.
    assert await wait_until(lambda: not pid_alive(record["pid"]), 0.4)
    supervisor = server.app[PROCESSES].supervisor
    assert await wait_until(lambda: record["pid"] not in supervisor.live_pids, 1.0)  # reaped
    assert await wait_until(lambda: supervisor.live == warm, 2.0)  # and replaced
    assert server.app[PROCESSES].slots.in_use == 0


async def test_disconnect_while_waiting_for_first_line(serve, fake_settings, records):
    server = await serve(fake_settings("hang"))
    async with aiohttp.ClientSession() as session:
        response = await session.post(server.make_url("/v1/chat/completions"), json=BODY)
        [record] = await records.wait_for(key="stdin")
        response.close()
    assert await wait_until(lambda: not pid_alive(record["pid"]), 1.0)


async def test_sigterm_ignoring_cli_and_its_children_are_killed(serve, fake_settings, records):
    env = {"FAKE_CLI_IGNORE_TERM": "1", "FAKE_CLI_CHILD": "1"}
    server = await serve(fake_settings("hang", fake_env=env, kill_grace=0.05))
    async with aiohttp.ClientSession() as session:
        response = await session.post(server.make_url("/v1/chat/completions"), json=BODY)
        [record] = await records.wait_for(key="stdin")
        assert pid_alive(record["child_pid"])
        response.close()
    assert await wait_until(lambda: not pid_alive(record["pid"]), 1.0)  # reaped by us
    # SIGKILLed with its group; being init's to reap, it may take a moment to be gone.
    assert await wait_until(lambda: not pid_running(record["child_pid"]), 1.0)


async def test_shutdown_ends_open_streams_and_their_clis(serve, fake_settings, records):
    server = await serve(slow_settings(fake_settings))
    async with aiohttp.ClientSession() as session:
        responses = [
            await session.post(server.make_url("/v1/chat/completions"), json=BODY) for _ in range(3)
        ]
        for response in responses:
            await read_first_content(response)
        pids = records.pids()
        assert len(pids) == 3
        await asyncio.wait_for(server.close(), 5)
        assert not any(map(pid_alive, pids))
        for response in responses:
            rest = await response.read()
            assert b"[DONE]" not in rest
            response.close()


async def test_over_capacity_waits_then_gets_429(serve, fake_settings, records):
    settings = fake_settings("hang", max_concurrency=1, queue_timeout=0.2, first_token_timeout=0.5)
    server = await serve(settings)
    url = server.make_url("/v1/chat/completions")
    async with aiohttp.ClientSession() as session:
        first = await session.post(url, json=BODY)
        await records.wait_for(key="stdin")
        async with session.post(url, json=BODY) as second:
            assert second.status == 429
            assert second.headers["Retry-After"] == "1"
            assert (await second.json())["error"]["type"] == "rate_limit_error"
        first.close()
        assert await wait_until(lambda: server.app[PROCESSES].slots.in_use == 0, 1.0)
        async with session.post(url, json={**BODY, "stream": False}) as third:
            assert third.status == 504  # a slot came free; this CLI hangs as well
    assert len(records.all()) == 2


async def test_churn_of_cancelled_requests_leaves_nothing(serve, fake_settings, records):
    server = await serve(slow_settings(fake_settings, 0.01, max_concurrency=8))
    url = server.make_url("/v1/chat/completions")
    fds_before = len(os.listdir("/proc/self/fd"))
    rng = random.Random(7)

    async def one(session: aiohttp.ClientSession) -> None:
        async with session.post(url, json=BODY) as response:
            deadline = rng.uniform(0.0, 0.15)
            try:
                async with asyncio.timeout(deadline):
                    async for _ in response.content:
                        pass
            except TimeoutError:
                response.close()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)) as session:
        await asyncio.gather(*(one(session) for _ in range(200)))
    supervisor = server.app[PROCESSES].supervisor
    assert await wait_until(lambda: supervisor.live == 0, 5.0)
    pids = records.pids()
    assert len(pids) >= 150  # some are cancelled before their CLI wrote its record
    assert not any(map(pid_alive, pids))
    assert len(os.listdir("/proc/self/fd")) <= fds_before + 2
    assert supervisor.spawned == 200 or supervisor.spawned >= len(pids)
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("reap-cli")]


async def test_client_can_finish_reading_after_done(serve, fake_settings):
    server = await serve(fake_settings())
    async with aiohttp.ClientSession() as session:
        async with session.post(server.make_url("/v1/chat/completions"), json=BODY) as r:
            lines = [json.loads(x[6:]) for x in (await r.text()).split("\n\n") if x[6:7] == "{"]
    assert lines[-1]["choices"][0]["finish_reason"] == "stop"


async def test_shutdown_lets_answers_in_flight_finish_within_the_drain(
    serve, fake_settings, records
):
    env = {"FAKE_CLI_DELAY": "0.05", "FAKE_CLI_ANSWER": " ".join(["word"] * 40)}  # 2 s
    server = await serve(fake_settings("slow", fake_env=env, drain_timeout=10))
    url = server.make_url("/v1/chat/completions")
    async with aiohttp.ClientSession() as session:
        response = await session.post(url, json=BODY)
        await read_first_content(response)
        closing = asyncio.create_task(server.close())
        rest = await response.read()  # the answer goes on to its end
        await asyncio.wait_for(closing, 10)
        with pytest.raises(aiohttp.ClientConnectionError):  # no longer listening
            await session.post(url, json=BODY)
    assert rest.endswith(b"data: [DONE]\n\n")
    assert server.app[PROCESSES].supervisor.live == 0
    assert not any(map(pid_alive, records.pids()))
