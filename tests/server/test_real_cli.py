"""End to end through the server with the real Claude Code CLI and a fake Anthropic API."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from server.http.state import PROCESSES
from tests.conftest import pid_alive, wait_until

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def prompt_text(body: dict) -> str:
    """All the text of the user turns the upstream received."""
    texts = []
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, str):
            texts.append(content)
        else:
            texts += [part.get("text", "") for part in content if part.get("type") == "text"]
    return "\n".join(texts)


async def test_streamed_and_whole_answers_arrive_in_order(serve, real_settings, upstream, sdk):
    state, _ = upstream
    state.answer = "Ünïcödé zürich — 東京 is far 🚀 and Paris is near."
    client = sdk(await serve(real_settings()))
    stream = await client.chat.completions.create(
        model="haiku", messages=QUESTION, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    deltas = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert "".join(deltas) == state.answer
    assert len(deltas) == len(fake_anthropic_tokens(state.answer))
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].usage.completion_tokens > 0

    completion = await client.chat.completions.create(model="sonnet", messages=QUESTION)
    assert completion.choices[0].message.content == state.answer
    assert completion.usage.prompt_tokens > 0


def fake_anthropic_tokens(text: str) -> list[str]:
    from harness.fake_anthropic import tokens

    return tokens(text)


async def test_upstream_gets_flattened_history_model_and_no_tools(
    serve, real_settings, upstream, sdk
):
    state, _ = upstream
    client = sdk(await serve(real_settings()))
    messages = [
        {"role": "system", "content": "You are a terse phone assistant."},
        {"role": "user", "content": "Hello there."},
        {"role": "assistant", "content": "Hi! What can I do for you?"},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    await client.chat.completions.create(model="haiku", messages=messages)
    [body] = state.streamed_requests()
    assert "haiku" in body["model"]
    assert not body.get("tools")
    text = prompt_text(body)
    order = [
        text.index(s)
        for s in (
            "<system>\nYou are a terse phone assistant.",
            "<user>\nHello there.",
            "<assistant>\nHi! What can I do for you?",
            "<user>\nWhat is the capital of France?",
        )
    ]
    assert order == sorted(order)


async def test_disconnect_ends_the_real_cli_and_its_upstream_call(serve, real_settings, upstream):
    state, _ = upstream
    state.answer = " ".join(["word"] * 200)
    state.token_delay = 0.1
    server = await serve(real_settings())
    async with aiohttp.ClientSession() as session:
        body = {"model": "haiku", "messages": QUESTION, "stream": True}
        response = await session.post(server.make_url("/v1/chat/completions"), json=body)
        async for line in response.content:
            if b'"content"' in line:
                break
        [pid] = server.app[PROCESSES].supervisor.live_pids
        response.close()
    assert await wait_until(lambda: not pid_alive(pid), 1.0)
    assert await wait_until(lambda: state.disconnects == 1, 2.0)
    assert state.completed == 0


async def stream_events(server) -> list[str]:
    async with aiohttp.ClientSession() as session:
        url = server.make_url("/v1/chat/completions")
        async with session.post(url, json={"messages": QUESTION, "stream": True}) as r:
            return [e.removeprefix("data: ") for e in (await r.text()).split("\n\n") if e]


@pytest.mark.parametrize(("mode", "code"), [("400", "cli_error"), ("529", "first_token_timeout")])
async def test_upstream_failure_is_a_clean_error(serve, real_settings, upstream, mode, code):
    state, _ = upstream
    state.mode = mode
    server = await serve(real_settings(first_token_timeout=3))
    events = await stream_events(server)
    assert "[DONE]" not in events
    error = json.loads(events[-1])["error"]
    assert error["code"] == code
    assert mode in error["message"]  # the upstream status, from the result or the retries
    assert await wait_until(lambda: server.app[PROCESSES].supervisor.live == 0, 2.0)


async def test_dropped_upstream_stream_still_gives_the_whole_answer(serve, real_settings, upstream):
    """The CLI retries a broken stream without streaming; the rest comes from its result."""
    state, _ = upstream
    state.mode = "drop"
    server = await serve(real_settings())
    events = await stream_events(server)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == state.answer
    assert [r["body"].get("stream", False) for r in state.requests] == [True, False]


async def test_upstream_401_retries_end_at_the_first_token_deadline(serve, real_settings, upstream):
    state, _ = upstream
    state.mode = "401"
    server = await serve(real_settings(first_token_timeout=3))
    async with aiohttp.ClientSession() as session:
        url = server.make_url("/v1/chat/completions")
        async with session.post(url, json={"messages": QUESTION}) as r:
            assert r.status == 504
            error = (await r.json())["error"]
    assert error["code"] == "first_token_timeout"
    assert "401" in error["message"]
    assert len(state.requests) >= 2  # the CLI was retrying
    assert await wait_until(lambda: server.app[PROCESSES].supervisor.live == 0, 2.0)


async def test_long_history_over_300_kb(serve, real_settings, upstream, sdk):
    state, _ = upstream
    client = sdk(await serve(real_settings()))
    paragraph = "The quick brown fox jumps over the lazy dog. " * 20
    messages = []
    for i in range(400):
        messages.append({"role": "user", "content": f"Turn {i}: {paragraph}"})
        messages.append({"role": "assistant", "content": f"Noted {i}."})
    messages.append({"role": "user", "content": "What is the capital of France?"})
    assert len(json.dumps(messages)) > 300_000
    completion = await client.chat.completions.create(model="haiku", messages=messages)
    assert completion.choices[0].message.content == state.answer
    text = prompt_text(state.streamed_requests()[-1])
    assert "Turn 0: The quick" in text and "Turn 399: The quick" in text
    assert text.index("Noted 398.") < text.index("What is the capital of France?")


async def test_warm_real_cli_serves_without_a_spawn_and_ends_at_shutdown(serve, real_settings, sdk):
    server = await serve(real_settings(warm=1))
    pools, supervisor = server.app[PROCESSES].warm, server.app[PROCESSES].supervisor
    assert await wait_until(lambda: pools.stats()["sonnet"]["idle"] == 1)
    [warm_pid] = supervisor.live_pids
    await asyncio.sleep(1.0)  # let it finish starting: it must still be waiting on stdin
    assert pools.stats()["sonnet"]["died"] == 0
    completion = await sdk(server).chat.completions.create(model="sonnet", messages=QUESTION)
    assert completion.choices[0].message.content == "Paris is the capital of France."
    stats = pools.stats()["sonnet"]
    assert (stats["hits"], stats["misses"]) == (1, 0)
    assert await wait_until(lambda: not pid_alive(warm_pid))
    assert await wait_until(lambda: pools.stats()["sonnet"]["idle"] == 1)
    pids = supervisor.live_pids
    await server.close()
    assert not any(map(pid_alive, pids))


@pytest.mark.parametrize("model", ["haiku", "sonnet"])
async def test_thinking_is_relayed_when_on_and_absent_with_effort_none(
    serve, real_settings, upstream, sdk, model
):
    state, _ = upstream
    state.thinking = "The user asks about France. Its capital is Paris."
    client = sdk(await serve(real_settings()))

    stream = await client.chat.completions.create(model=model, messages=QUESTION, stream=True)
    deltas = [chunk.choices[0].delta async for chunk in stream if chunk.choices]
    thoughts = [d.model_extra["reasoning_content"] for d in deltas if d.model_extra]
    assert "".join(thoughts) == state.thinking
    assert "".join(d.content or "" for d in deltas) == state.answer

    stream = await client.chat.completions.create(
        model=model, messages=QUESTION, stream=True, reasoning_effort="none"
    )
    deltas = [chunk.choices[0].delta async for chunk in stream if chunk.choices]
    assert not any(d.model_extra for d in deltas)
    assert "".join(d.content or "" for d in deltas) == state.answer
    thinking_asked = [body.get("thinking") for body in state.streamed_requests()]
    assert thinking_asked[0]["type"] in ("adaptive", "enabled")
    assert thinking_asked[1] == {"type": "disabled"}
