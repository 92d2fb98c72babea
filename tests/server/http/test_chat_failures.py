"""CLI failures reach the client as clean errors, streamed or not, with the process gone."""

from __future__ import annotations

import json

import aiohttp
import openai
import pytest

from server.http.state import PROCESSES
from tests.conftest import pid_alive, wait_until

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


async def stream_events(server, body=None) -> list:
    body = body or {"messages": MESSAGES, "stream": True}
    async with aiohttp.ClientSession() as session:
        async with session.post(server.make_url("/v1/chat/completions"), json=body) as r:
            assert r.status == 200
            text = (await r.read()).decode()
    return [e.removeprefix("data: ") for e in text.split("\n\n") if e]


async def complete(server) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        url = server.make_url("/v1/chat/completions")
        async with session.post(url, json={"messages": MESSAGES}) as r:
            return r.status, await r.json()


def assert_error_ending(events: list, code: str, fragment: str) -> dict:
    assert "[DONE]" not in events
    chunks = [json.loads(e) for e in events]
    assert not any(c.get("choices") and c["choices"][0]["finish_reason"] for c in chunks)
    error = chunks[-1]["error"]
    assert error["code"] == code and fragment in error["message"], error
    return error


async def assert_all_gone(records) -> None:
    pids = records.pids()
    assert pids
    assert await wait_until(lambda: not any(map(pid_alive, pids)), 2.0)


@pytest.mark.parametrize(
    ("mode", "status", "code", "fragment"),
    [
        ("crash", 502, "cli_error", "fake CLI crashed: segmentation fault"),
        ("error", 502, "cli_error", "(upstream status 400): Prompt is too long"),
        ("huge", 502, "cli_output_too_long", "exceeded"),
    ],
)
async def test_cli_failure(serve, fake_settings, records, mode, status, code, fragment):
    server = await serve(fake_settings(mode))
    events = await stream_events(server)
    assert_error_ending(events, code, fragment)
    got_status, payload = await complete(server)
    assert got_status == status
    assert payload["error"]["code"] == code and fragment in payload["error"]["message"]
    await assert_all_gone(records)


async def test_crash_mid_stream_keeps_what_was_said(serve, fake_settings):
    events = await stream_events(await serve(fake_settings("crash")))
    chunks = [json.loads(e) for e in events]
    said = [c["choices"][0]["delta"].get("content") for c in chunks if c.get("choices")]
    assert "".join(filter(None, said)) == "Paris is"


async def test_first_token_timeout_kills_a_silent_cli(serve, fake_settings, records):
    server = await serve(fake_settings("hang", first_token_timeout=0.5))
    events = await stream_events(server)
    assert_error_ending(events, "first_token_timeout", "0.5 s")
    status, payload = await complete(server)
    assert status == 504 and payload["error"]["code"] == "first_token_timeout"
    await assert_all_gone(records)


async def test_a_cli_that_stalls_mid_answer_is_ended_keeping_what_was_said(
    serve, fake_settings, records
):
    server = await serve(fake_settings("stall", first_token_timeout=5, stall_timeout=0.5))
    events = await stream_events(server)
    assert_error_ending(events, "stall_timeout", "no text for 0.5 s")
    chunks = [json.loads(e) for e in events]
    said = [c["choices"][0]["delta"].get("content") for c in chunks if c.get("choices")]
    assert "".join(filter(None, said)) == "Paris is"
    status, payload = await complete(server)
    assert status == 504 and payload["error"]["code"] == "stall_timeout"
    await assert_all_gone(records)
    assert await wait_until(lambda: server.app[PROCESSES].slots.in_use == 0, 1.0)


async def test_retrying_cli_times_out_naming_the_upstream_error(serve, fake_settings, records):
    server = await serve(fake_settings("retry", first_token_timeout=0.7))
    events = await stream_events(server)
    assert_error_ending(events, "first_token_timeout", "401 authentication_failed")
    await assert_all_gone(records)


async def test_plain_text_is_skipped_in_streams_and_the_fallback_otherwise(serve, fake_settings):
    server = await serve(fake_settings("plain"))
    events = await stream_events(server)
    assert events[-1] == "[DONE]"
    assert not any(json.loads(e)["choices"][0]["delta"].get("content") for e in events[:-1])
    status, payload = await complete(server)
    assert status == 200
    assert payload["choices"][0]["message"]["content"] == "plain text answer line one\nline two"


@pytest.mark.parametrize("mode", ["garbage", "subagent"])
async def test_noise_lines_do_not_reach_the_answer(serve, fake_settings, mode):
    server = await serve(fake_settings(mode))
    events = await stream_events(server)
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "Paris is the capital of France."


async def test_missing_cli_is_a_503(serve, fake_settings):
    server = await serve(fake_settings(cli="/nonexistent/claude"))
    status, payload = await complete(server)
    assert status == 503
    assert "could not start the CLI" in payload["error"]["message"]


async def test_sdk_raises_api_error_on_failed_stream(serve, fake_settings):
    server = await serve(fake_settings("crash"))
    client = openai.AsyncOpenAI(base_url=str(server.make_url("/v1")), api_key="x")
    async with client:
        stream = await client.chat.completions.create(
            model="sonnet", messages=MESSAGES, stream=True
        )
        with pytest.raises(openai.APIError, match="segmentation fault"):
            async for _ in stream:
                pass


async def test_answer_only_in_the_result_is_completed(serve, fake_settings):
    """A result longer than the streamed deltas (the real CLI after a broken upstream stream)."""
    server = await serve(fake_settings("truncated"))
    events = await stream_events(server)
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "Paris is the capital of France."
    status, payload = await complete(server)
    assert payload["choices"][0]["message"]["content"] == "Paris is the capital of France."
