"""Thinking on `/v1/chat/completions`: relayed as `reasoning_content` (and `reasoning`), never
as `content`, and asked for per request (`reasoning_effort`) or server-wide."""

from __future__ import annotations

import aiohttp

from server.http.state import PROCESSES
from tests.conftest import wait_until

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
THINKING = "The user asks about France. Its capital is Paris."
ANSWER = "Paris is the capital of France."
THINKS = {"FAKE_CLI_THINKING": THINKING}


async def test_thinking_streams_before_the_answer_and_apart_from_it(serve, fake_settings, sdk):
    client = sdk(await serve(fake_settings(fake_env=THINKS)))
    stream = await client.chat.completions.create(model="sonnet", messages=QUESTION, stream=True)
    deltas = [chunk.choices[0].delta async for chunk in stream if chunk.choices]
    thoughts = [d.model_extra["reasoning_content"] for d in deltas if d.model_extra]
    assert "".join(thoughts) == THINKING
    assert all(d.model_extra["reasoning"] == d.model_extra["reasoning_content"] for d in deltas[:3])
    assert "".join(d.content or "" for d in deltas) == ANSWER
    assert not any(d.content and d.model_extra for d in deltas)  # never both in one delta
    kinds = ["thinking" if d.model_extra else "text" for d in deltas if d.content or d.model_extra]
    assert kinds == sorted(kinds, key=lambda kind: kind == "text")  # all thinking comes first
    assert deltas[0].role == "assistant"


async def test_a_whole_answer_carries_its_thinking_as_reasoning_content(serve, fake_settings, sdk):
    client = sdk(await serve(fake_settings(fake_env=THINKS)))
    completion = await client.chat.completions.create(model="sonnet", messages=QUESTION)
    message = completion.choices[0].message
    assert message.content == ANSWER
    assert message.model_extra["reasoning_content"] == THINKING


async def test_effort_none_asks_the_cli_for_no_thinking(serve, fake_settings, sdk, records):
    client = sdk(await serve(fake_settings(fake_env=THINKS)))
    stream = await client.chat.completions.create(
        model="sonnet", messages=QUESTION, stream=True, reasoning_effort="none"
    )
    deltas = [chunk.choices[0].delta async for chunk in stream if chunk.choices]
    assert not any(d.model_extra for d in deltas)
    assert "".join(d.content or "" for d in deltas) == ANSWER
    [record] = records.all()
    assert record["thinking_env"] == {"MAX_THINKING_TOKENS": "0"}


async def test_each_effort_reaches_the_cli_and_unset_leaves_its_own(serve, fake_settings, records):
    server = await serve(fake_settings())
    url = server.make_url("/v1/chat/completions")
    async with aiohttp.ClientSession() as session:
        for effort in (None, "low", "high"):
            body = {"messages": QUESTION, **({"reasoning_effort": effort} if effort else {})}
            async with session.post(url, json=body) as response:
                assert response.status == 200, await response.text()
    envs = [r["thinking_env"] for r in sorted(records.all(), key=lambda r: r["started"])]
    assert envs == [
        {},
        {"MAX_THINKING_TOKENS": "4096", "CLAUDE_CODE_EFFORT_LEVEL": "low"},
        {"MAX_THINKING_TOKENS": "31999", "CLAUDE_CODE_EFFORT_LEVEL": "high"},
    ]


async def test_the_server_default_applies_when_a_request_does_not_say(
    serve, fake_settings, sdk, records
):
    client = sdk(await serve(fake_settings(fake_env=THINKS, reasoning_effort="none")))
    completion = await client.chat.completions.create(model="sonnet", messages=QUESTION)
    assert "reasoning_content" not in (completion.choices[0].message.model_extra or {})
    completion = await client.chat.completions.create(
        model="sonnet", messages=QUESTION, reasoning_effort="medium"
    )
    assert completion.choices[0].message.model_extra["reasoning_content"] == THINKING
    envs = [r["thinking_env"] for r in sorted(records.all(), key=lambda r: r["started"])]
    assert envs[0] == {"MAX_THINKING_TOKENS": "0"}
    assert envs[1]["CLAUDE_CODE_EFFORT_LEVEL"] == "medium"


async def test_an_unknown_effort_is_refused_and_starts_nothing(serve, fake_settings, records):
    server = await serve(fake_settings())
    async with aiohttp.ClientSession() as session:
        for effort in ("extreme", 3, ["low"]):
            body = {"messages": QUESTION, "reasoning_effort": effort}
            async with session.post(server.make_url("/v1/chat/completions"), json=body) as r:
                assert r.status == 400
                error = (await r.json())["error"]
                assert error["param"] == "reasoning_effort" and "none, minimal" in error["message"]
    assert records.all() == []


async def test_each_effort_gets_warm_processes_of_its_own(serve, fake_settings, sdk, records):
    server = await serve(fake_settings(warm=1, reasoning_effort="none"))
    pools = server.app[PROCESSES].warm
    assert await wait_until(lambda: pools.stats().get("sonnet, effort none", {}).get("idle") == 1)
    client = sdk(server)
    await client.chat.completions.create(model="sonnet", messages=QUESTION)
    await client.chat.completions.create(model="sonnet", messages=QUESTION, reasoning_effort="low")
    assert await wait_until(lambda: pools.stats().get("sonnet, effort low", {}).get("idle") == 1)
    assert pools.stats()["sonnet, effort none"]["hits"] == 1
    assert pools.stats()["sonnet, effort low"]["misses"] == 1
