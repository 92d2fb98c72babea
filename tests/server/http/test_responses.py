"""`/v1/responses` through the official `openai` SDK: plain and streamed responses, thinking as
reasoning, failures the SDK raises, and the CLI ended when a plain request's client hangs up."""

from __future__ import annotations

import aiohttp
import openai
import pytest

from server.http.state import PROCESSES
from tests.conftest import pid_alive, wait_until

ANSWER = "Paris is the capital of France."
THINKING = "The user asks about France. Its capital is Paris."


@pytest.fixture
def settings(fake_settings, tmp_path):
    def make(mode: str = "normal", **overrides):
        return fake_settings(mode, db=str(tmp_path / "responses.db"), **overrides)

    return make


async def test_a_plain_response_is_answered_and_stored(serve, settings, sdk, records):
    client = sdk(await serve(settings()))
    response = await client.responses.create(
        model="sonnet",
        instructions="You are terse.",
        input=[
            {"role": "user", "content": "Hello."},
            {"role": "assistant", "content": [{"type": "output_text", "text": "Hi."}]},
            {"role": "user", "content": [{"type": "input_text", "text": "Capital of France?"}]},
        ],
    )
    assert response.status == "completed" and response.output_text == ANSWER
    assert response.id.startswith("resp_") and response.usage.output_tokens > 0
    assert response.usage.input_tokens_details.cached_tokens == 3
    stored = await client.responses.retrieve(response.id)
    assert stored.status == "completed" and stored.output_text == ANSWER
    [record] = records.all()
    for part in ("<system>\\nYou are terse.", "<assistant>\\nHi.", "<user>\\nCapital of France?"):
        assert part in record["stdin"]


async def test_a_streamed_response_gives_its_events_in_order(serve, settings, sdk):
    client = sdk(await serve(settings(fake_env={"FAKE_CLI_THINKING": THINKING})))
    async with client.responses.stream(
        model="haiku", input="What is the capital of France?", reasoning={"effort": "low"}
    ) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()
    kinds = [e.type for e in events]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert kinds[:2] == ["response.created", "response.in_progress"]
    order = [
        "response.output_item.added",  # the reasoning
        "response.reasoning_summary_text.delta",
        "response.output_item.done",
        "response.output_item.added",  # the message
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    positions = [
        kinds.index(kind, kinds.index(order[i - 1]) + 1 if i else 0) for i, kind in enumerate(order)
    ]
    assert positions == sorted(positions)
    texts = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(texts) == ANSWER == final.output_text
    thoughts = [e.delta for e in events if e.type == "response.reasoning_summary_text.delta"]
    assert "".join(thoughts) == THINKING
    reasoning, message = final.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == THINKING
    assert message.type == "message" and message.content[0].text == ANSWER


async def test_a_failing_cli_raises_the_sdks_error(serve, settings, sdk):
    client = sdk(await serve(settings("crash")))
    with pytest.raises(openai.APIError, match="segmentation fault"):
        async with client.responses.stream(model="sonnet", input="Hi") as stream:
            async for _ in stream:
                pass
    with pytest.raises(openai.InternalServerError, match="segmentation fault"):
        await client.responses.create(model="sonnet", input="Hi")


async def test_hanging_up_on_a_plain_stream_ends_its_cli(serve, settings, records):
    server = await serve(settings("slow", fake_env={"FAKE_CLI_ANSWER": "word " * 400}))
    body = {"model": "sonnet", "input": "Talk.", "stream": True}
    async with aiohttp.ClientSession() as session:
        response = await session.post(server.make_url("/v1/responses"), json=body)
        async for line in response.content:
            if b"output_text.delta" in line:
                break
        [record] = await records.wait_for(key="first_text")
        response.close()
    assert await wait_until(lambda: not pid_alive(record["pid"]), 1.0)
    assert await wait_until(lambda: server.app[PROCESSES].supervisor.live == 0)
    assert "finished" not in records.all()[0]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "sonnet"}, "input"),
        ({"input": ""}, "input"),
        ({"input": [{"role": "user", "content": [{"type": "input_image"}]}]}, "input[0].content"),
        ({"input": [{"type": "function_call"}]}, "input[0]"),
        ({"input": "Hi", "model": "gpt-5"}, "model"),
        ({"input": "Hi", "background": "yes"}, "background"),
        ({"input": "Hi", "background": True, "store": False}, "store"),
        ({"input": "Hi", "reasoning": {"effort": "max"}}, "reasoning.effort"),
        ({"input": "Hi", "tools": [{"type": "web_search"}]}, "tools"),
        ({"input": "Hi", "previous_response_id": "resp_1"}, "previous_response_id"),
        ({"input": "Hi", "instructions": 3}, "instructions"),
    ],
)
async def test_bad_requests_get_a_400_and_start_nothing(serve, settings, records, body, param):
    server = await serve(settings())
    async with aiohttp.ClientSession() as session:
        async with session.post(server.make_url("/v1/responses"), json=body) as response:
            assert response.status == 400
            error = (await response.json())["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert records.all() == []


async def test_unknown_ids_and_bad_queries(serve, settings, sdk):
    server = await serve(settings())
    client = sdk(server)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve("resp_nothing")
    with pytest.raises(openai.NotFoundError):
        await client.responses.cancel("resp_nothing")
    plain = await client.responses.create(model="sonnet", input="Hi")
    with pytest.raises(openai.BadRequestError, match="background"):
        await client.responses.cancel(plain.id)
    async with aiohttp.ClientSession() as session:
        for query in ("stream=maybe", "stream=true&starting_after=x", "starting_after=-5"):
            url = server.make_url(f"/v1/responses/{plain.id}?{query}")
            async with session.get(url) as response:
                assert response.status == 400, query


async def test_a_body_over_the_cap_is_a_400(serve, settings, records):
    server = await serve(settings(max_body_bytes=1024))
    async with aiohttp.ClientSession() as session:
        body = {"input": "x" * 2048}
        async with session.post(server.make_url("/v1/responses"), json=body) as r:
            assert r.status == 400
            error = (await r.json())["error"]
    assert error["code"] == "request_too_large"
    assert records.all() == []
