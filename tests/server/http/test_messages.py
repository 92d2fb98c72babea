"""`POST /v1/messages` through the official `anthropic` SDK: whole and streamed answers,
thinking, stop sequences, errors in Anthropic's envelope, and the CLI ended on hang-up."""

from __future__ import annotations

import aiohttp
import anthropic
import pytest

from server.http.state import PROCESSES
from tests.conftest import pid_alive, wait_until

ANSWER = "Paris is the capital of France."
THINKING = "The user asks about France. Its capital is Paris."
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


async def test_a_whole_message(serve, fake_settings, claude, records):
    client = claude(await serve(fake_settings()))
    message = await client.messages.create(
        model="sonnet",
        max_tokens=1024,
        system=[{"type": "text", "text": "You are terse."}],
        messages=[
            {"role": "user", "content": "Hello."},
            {"role": "assistant", "content": [{"type": "text", "text": "Hi."}]},
            {"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]},
        ],
        metadata={"user_id": "caller-1"},
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_") and message.model == "sonnet"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == ANSWER
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0 and message.usage.cache_read_input_tokens == 3
    [record] = records.all()
    prompt = record["stdin"]
    for part in ("<system>\\nYou are terse.", "<assistant>\\nHi.", "<user>\\nCapital of France?"):
        assert part in prompt


async def test_a_streamed_message_with_thinking_reassembles(serve, fake_settings, claude):
    client = claude(await serve(fake_settings(fake_env={"FAKE_CLI_THINKING": THINKING})))
    async with client.messages.stream(
        model="haiku",
        max_tokens=2048,
        messages=QUESTION,
        thinking={"type": "enabled", "budget_tokens": 1024},
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "thinking" in kinds and "text" in kinds
    assert kinds.index("thinking") < kinds.index("text")
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == THINKING
    assert final.content[1].text == ANSWER
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


async def test_the_raw_stream_has_event_lines_and_a_ping(serve, fake_settings):
    server = await serve(fake_settings())
    body = {"model": "sonnet", "max_tokens": 64, "messages": QUESTION, "stream": True}
    async with aiohttp.ClientSession() as session:
        async with session.post(server.make_url("/v1/messages"), json=body) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            text = await response.text()
    names = [
        line.removeprefix("event: ") for line in text.splitlines() if line.startswith("event:")
    ]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]


async def test_thinking_options_reach_the_cli(serve, fake_settings, claude, records):
    client = claude(await serve(fake_settings(fake_env={"FAKE_CLI_THINKING": THINKING})))
    message = await client.messages.create(
        model="haiku", max_tokens=64, messages=QUESTION, thinking={"type": "disabled"}
    )
    assert [block.type for block in message.content] == ["text"]
    await client.messages.create(
        model="haiku",
        max_tokens=4096,
        messages=QUESTION,
        thinking={"type": "enabled", "budget_tokens": 2000},
    )
    envs = [r["thinking_env"] for r in sorted(records.all(), key=lambda r: r["started"])]
    assert envs == [{"MAX_THINKING_TOKENS": "0"}, {"MAX_THINKING_TOKENS": "2000"}]


async def test_a_stop_sequence_cuts_the_answer_and_ends_the_cli(serve, fake_settings, claude):
    server = await serve(fake_settings("slow"))
    client = claude(server)
    message = await client.messages.create(
        model="sonnet", max_tokens=64, messages=QUESTION, stop_sequences=["capital"]
    )
    assert message.content[0].text == "Paris is the "
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "capital")
    async with client.messages.stream(
        model="sonnet", max_tokens=64, messages=QUESTION, stop_sequences=[" of Fr"]
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "Paris is the capital" and final.stop_sequence == " of Fr"
    supervisor = server.app[PROCESSES].supervisor
    assert await wait_until(lambda: supervisor.live == 0)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"max_tokens": 8, "messages": QUESTION}, "'model' is required"),
        ({"model": "gpt-4", "max_tokens": 8, "messages": QUESTION}, "haiku, sonnet, opus"),
        ({"model": "sonnet", "messages": QUESTION}, "'max_tokens' is required"),
        ({"model": "sonnet", "max_tokens": 0, "messages": QUESTION}, "positive integer"),
        ({"model": "sonnet", "max_tokens": 8, "messages": []}, "non-empty list"),
        ({"model": "sonnet", "max_tokens": 8, "messages": [{"role": "system"}]}, "'user' or"),
        (
            {
                "model": "sonnet",
                "max_tokens": 8,
                "messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}],
            },
            "only text",
        ),
        (
            {"model": "sonnet", "max_tokens": 8, "messages": QUESTION, "thinking": {"type": "x"}},
            "'thinking' must be",
        ),
        (
            {"model": "sonnet", "max_tokens": 8, "messages": QUESTION, "stop_sequences": "x"},
            "stop_sequences",
        ),
        ({"model": "sonnet", "max_tokens": 8, "messages": QUESTION, "system": 3}, "'system'"),
    ],
)
async def test_bad_requests_get_anthropic_errors_and_start_nothing(
    serve, fake_settings, records, body, fragment
):
    server = await serve(fake_settings())
    async with aiohttp.ClientSession() as session:
        async with session.post(server.make_url("/v1/messages"), json=body) as response:
            assert response.status == 400
            error = await response.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert fragment in error["error"]["message"]
    assert records.all() == []


async def test_the_sdk_raises_its_bad_request_error_for_an_unknown_model(
    serve, fake_settings, claude
):
    client = claude(await serve(fake_settings()))
    with pytest.raises(anthropic.BadRequestError) as raised:
        await client.messages.create(model="claude-9", max_tokens=8, messages=QUESTION)
    assert raised.value.body["error"]["type"] == "invalid_request_error"
    assert "supported models: haiku, sonnet, opus" in raised.value.message


async def test_malformed_json_is_an_anthropic_400(serve, fake_settings):
    server = await serve(fake_settings())
    async with aiohttp.ClientSession() as session:
        async with session.post(server.make_url("/v1/messages"), data=b"{not json") as r:
            assert r.status == 400
            body = await r.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"


async def test_the_key_is_taken_from_x_api_key_or_bearer(serve, fake_settings, claude):
    server = await serve(fake_settings(api_key="sekrit"))
    message = await claude(server, "sekrit").messages.create(
        model="sonnet", max_tokens=8, messages=QUESTION
    )
    assert message.content[0].text == ANSWER
    async with aiohttp.ClientSession() as session:
        body = {"model": "sonnet", "max_tokens": 8, "messages": QUESTION}
        headers = {"Authorization": "Bearer sekrit"}
        async with session.post(server.make_url("/v1/messages"), json=body, headers=headers) as r:
            assert r.status == 200
    with pytest.raises(anthropic.AuthenticationError) as raised:
        await claude(server, "wrong").messages.create(
            model="sonnet", max_tokens=8, messages=QUESTION
        )
    assert raised.value.body["error"]["type"] == "authentication_error"


async def test_a_failing_cli_raises_the_sdks_error_mid_stream(serve, fake_settings, claude):
    client = claude(await serve(fake_settings("crash")))
    with pytest.raises(anthropic.APIStatusError) as raised:
        async with client.messages.stream(model="sonnet", max_tokens=8, messages=QUESTION) as s:
            async for _ in s:
                pass
    assert "segmentation fault" in str(raised.value)
    with pytest.raises(anthropic.InternalServerError):
        await client.messages.create(model="sonnet", max_tokens=8, messages=QUESTION)


async def test_hanging_up_mid_stream_ends_the_cli(serve, fake_settings, records):
    server = await serve(fake_settings("slow", fake_env={"FAKE_CLI_ANSWER": "word " * 400}))
    body = {"model": "sonnet", "max_tokens": 8, "messages": QUESTION, "stream": True}
    async with aiohttp.ClientSession() as session:
        response = await session.post(server.make_url("/v1/messages"), json=body)
        async for line in response.content:
            if b"text_delta" in line:
                break
        [record] = await records.wait_for(key="first_text")
        response.close()
    assert await wait_until(lambda: not pid_alive(record["pid"]), 1.0)
    assert "finished" not in records.all()[0]


async def test_a_body_over_the_cap_is_an_anthropic_400(serve, fake_settings, records):
    server = await serve(fake_settings(max_body_bytes=1024))
    body = {
        "model": "sonnet",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "x" * 2048}],
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(server.make_url("/v1/messages"), json=body) as r:
            assert r.status == 400
            error = await r.json()
    assert error["type"] == "error" and "exceeds 1024 bytes" in error["error"]["message"]
    assert records.all() == []
