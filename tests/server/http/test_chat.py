"""`/v1/chat/completions` through the real app, the fake CLI and real clients."""

from __future__ import annotations

import json

import aiohttp
import openai
import pytest

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


async def sse_events(response: aiohttp.ClientResponse) -> list[str]:
    """The raw `data:` payloads of an event stream, checking its framing on the way."""
    body = (await response.read()).decode()
    assert body.endswith("\n\n")
    events = body.split("\n\n")[:-1]
    assert all(e.startswith("data: ") and "\n" not in e for e in events), body
    return [e.removeprefix("data: ") for e in events]


async def post(server, body, headers=None) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with session.post(
            server.make_url("/v1/chat/completions"), data=data, headers=headers
        ) as r:
            return r.status, await r.json()


async def test_non_streaming_answer_with_sdk(sdk, serve, fake_settings, records):
    server = await serve(fake_settings())
    completion = await sdk(server).chat.completions.create(model="haiku", messages=MESSAGES)
    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert isinstance(completion.created, int)
    assert completion.model == "haiku"
    [choice] = completion.choices
    assert choice.index == 0 and choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == "Paris is the capital of France."
    assert completion.usage.prompt_tokens == 15
    assert completion.usage.completion_tokens == 6
    assert completion.usage.total_tokens == 21
    [record] = records.all()
    assert "--model=haiku" in record["argv"]
    assert record["stdin_eof"]


async def test_streaming_answer_with_sdk(sdk, serve, fake_settings):
    server = await serve(fake_settings())
    stream = await sdk(server).chat.completions.create(
        model="sonnet", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Paris is the capital of France."
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == 21


async def test_default_model_when_omitted(serve, fake_settings, records):
    server = await serve(fake_settings())
    status, payload = await post(server, {"messages": MESSAGES})
    assert status == 200 and payload["model"] == "sonnet"
    assert "--model=sonnet" in records.all()[0]["argv"]


async def test_exact_sse_framing_one_chunk_per_delta(serve, fake_settings):
    server = await serve(fake_settings())
    async with aiohttp.ClientSession() as session:
        body = {"messages": MESSAGES, "stream": True}
        async with session.post(server.make_url("/v1/chat/completions"), json=body) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/event-stream")
            assert r.headers["Cache-Control"] == "no-cache"
            assert r.headers["X-Accel-Buffering"] == "no"
            events = await sse_events(r)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "Paris"}
    assert all("role" not in c["choices"][0]["delta"] for c in chunks[1:])
    contents = [c["choices"][0]["delta"]["content"] for c in chunks[:-1]]
    assert contents == ["Paris", " is", " the", " capital", " of", " France."]
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert "usage" not in chunks[-1]


async def test_each_delta_is_relayed_before_the_cli_finishes(sdk, serve, fake_settings, records):
    """No buffering: the first chunk arrives while the CLI is still producing the answer."""
    settings = fake_settings("slow", fake_env={"FAKE_CLI_DELAY": "0.3"})
    server = await serve(settings)
    stream = await sdk(server).chat.completions.create(model="opus", messages=MESSAGES, stream=True)
    async for chunk in stream:
        if chunk.choices[0].delta.content:
            break
    [record] = await records.wait_for(key="first_text")
    assert "finished" not in record
    await stream.close()


async def test_history_reaches_the_cli_flattened_over_stdin(sdk, serve, fake_settings, records):
    server = await serve(fake_settings())
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "--help"},
        {"role": "assistant", "content": "I can answer questions."},
        {"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]},
    ]
    await sdk(server).chat.completions.create(model="sonnet", messages=messages)
    [record] = records.all()
    prompt = json.loads(record["stdin"])["message"]["content"]
    positions = [
        prompt.index(s)
        for s in (
            "<system>\nBe brief.",
            "<user>\n--help",
            "<assistant>\nI can answer",
            "Capital of France?",
        )
    ]
    assert positions == sorted(positions)
    assert not any("Capital" in a or "--help" == a for a in record["argv"])
    assert record["cwd"] != str(records.dir) and not record["cwd"].startswith("/work")


async def test_unknown_model_is_rejected_before_any_process(sdk, serve, fake_settings, records):
    server = await serve(fake_settings())
    with pytest.raises(openai.BadRequestError) as e:
        await sdk(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    error = e.value.body
    assert "unsupported model" in error["message"] and "haiku, sonnet, opus" in error["message"]
    assert set(error) == {"message", "type", "code", "param"}
    assert records.all() == []


@pytest.mark.parametrize(
    "body",
    [b"{", b"[]", b'{"messages": []}', b'{"messages": [{"role": "user"}]}', b'{"model": 1}'],
)
async def test_bad_input_gets_400_envelope(serve, fake_settings, records, body):
    server = await serve(fake_settings())
    status, payload = await post(server, body)
    assert status == 400
    assert payload["error"]["type"] == "invalid_request_error"
    assert records.all() == []


async def test_body_over_cap_gets_400(serve, fake_settings):
    server = await serve(fake_settings(max_body_bytes=1000))
    big = {"messages": [{"role": "user", "content": "x" * 2000}]}
    status, payload = await post(server, big)
    assert status == 400
    assert "exceeds 1000 bytes" in payload["error"]["message"]
