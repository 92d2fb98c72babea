"""Background responses: detached from the request that made them, followed and replayed by
sequence number, cancelled at once (the CLI too) and stored exactly once, cancelled at
shutdown, and failed after a crash."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from server.responses.store import ResponseStore
from tests.conftest import pid_alive, wait_until

ANSWER = "Paris is the capital of France."
COUNTING = " ".join(["one two three"] * 10)


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "responses.db")


@pytest.fixture
def settings(fake_settings, db):
    def make(mode: str = "normal", **overrides):
        return fake_settings(mode, db=db, **overrides)

    return make


async def settled(client, id: str, within: float = 10.0):
    """The response once it is no longer queued or in progress."""
    deadline = time.monotonic() + within
    while True:
        response = await client.responses.retrieve(id)
        if response.status not in ("queued", "in_progress"):
            return response
        assert time.monotonic() < deadline, f"{id} still {response.status}"
        await asyncio.sleep(0.02)


async def said(client, id: str, text: str, within: float = 5.0) -> None:
    """Wait until the running response `id` has said `text`."""
    deadline = time.monotonic() + within
    while (await client.responses.retrieve(id)).output_text != text:
        assert time.monotonic() < deadline, f"{id} never said {text!r}"
        await asyncio.sleep(0.01)


async def sse_events(response: aiohttp.ClientResponse, until: int | None = None) -> list[dict]:
    """The `data:` events of a stream, up to sequence number `until` (then it stops reading)."""
    events = []
    async for line in response.content:
        if line.startswith(b"data: "):
            events.append(json.loads(line[6:]))
            if until is not None and events[-1]["sequence_number"] >= until:
                break
    return events


async def test_a_background_run_finishes_with_no_client_attached(serve, settings, sdk):
    client = sdk(await serve(settings("slow")))
    response = await client.responses.create(model="sonnet", input="Hi", background=True)
    assert response.status in ("queued", "in_progress") and response.background
    done = await settled(client, response.id)
    assert done.status == "completed" and done.output_text == ANSWER


async def test_a_client_that_reconnects_misses_nothing(serve, settings):
    server = await serve(settings("slow", fake_env={"FAKE_CLI_ANSWER": COUNTING}))
    body = {"model": "sonnet", "input": "Count.", "background": True, "stream": True}
    async with aiohttp.ClientSession() as session:
        async with session.post(server.make_url("/v1/responses"), json=body) as first:
            seen = await sse_events(first, until=8)  # then the client drops
        id = seen[0]["response"]["id"]
        url = server.make_url(f"/v1/responses/{id}?stream=true&starting_after=8")
        async with session.get(url) as again:
            rest = await sse_events(again)
        # Once it is over, the whole stream replays from the store.
        async with session.get(server.make_url(f"/v1/responses/{id}?stream=true")) as replay:
            whole = await sse_events(replay)
    events = seen + rest
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-1]["type"] == "response.completed"
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == COUNTING == events[-1]["response"]["output_text"]
    assert whole == events


async def test_cancel_mid_wait_kills_the_cli_and_stores_the_partial_once(
    serve, settings, sdk, records
):
    client = sdk(await serve(settings("stall")))  # two words, then silence
    response = await client.responses.create(model="sonnet", input="Hi", background=True)
    [record] = await records.wait_for(key="first_text")
    await said(client, response.id, "Paris is")  # and now waits for the CLI's next line
    started = time.monotonic()
    cancelled = await client.responses.cancel(response.id)
    assert time.monotonic() - started < 2.0
    assert await wait_until(lambda: not pid_alive(record["pid"]), 0.5)
    assert cancelled.status == "cancelled"
    assert cancelled.output_text == "Paris is"
    again = await client.responses.cancel(response.id)
    stored = await client.responses.retrieve(response.id)
    assert again.model_dump() == cancelled.model_dump() == stored.model_dump()


async def test_cancel_after_completion_changes_nothing(serve, settings, sdk):
    client = sdk(await serve(settings()))
    response = await client.responses.create(model="sonnet", input="Hi", background=True)
    done = await settled(client, response.id)
    assert (await client.responses.cancel(response.id)).model_dump() == done.model_dump()
    assert (await client.responses.retrieve(response.id)).status == "completed"


async def test_cancels_racing_the_natural_end_store_one_end(serve, settings, sdk):
    client = sdk(await serve(settings(fake_env={"FAKE_CLI_DELAY": "0.01"}, max_concurrency=8)))
    outcomes = []
    for delay in [0.0, 0.02, 0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3, 0.5]:
        response = await client.responses.create(model="sonnet", input="Hi", background=True)
        await asyncio.sleep(delay)
        first, second = await asyncio.gather(
            client.responses.cancel(response.id), client.responses.cancel(response.id)
        )
        assert first.model_dump() == second.model_dump()
        stored = await settled(client, response.id)
        assert stored.model_dump() == first.model_dump()
        if stored.status == "completed":
            assert stored.output_text == ANSWER
        else:
            assert stored.status == "cancelled" and ANSWER.startswith(stored.output_text)
        outcomes.append(stored.status)
    assert "cancelled" in outcomes  # the early cancels did stop their runs


async def test_shutdown_cancels_and_stores_running_background_runs(
    serve, settings, sdk, records, db
):
    server = await serve(settings("stall"))
    client = sdk(server)
    response = await client.responses.create(model="sonnet", input="Hi", background=True)
    [record] = await records.wait_for(key="first_text")
    await said(client, response.id, "Paris is")
    await server.close()
    assert not pid_alive(record["pid"])
    store = ResponseStore.open(db)
    try:
        stored, events = await store.get(response.id)
    finally:
        await store.close()
    assert stored["status"] == "cancelled" and stored["output_text"] == "Paris is"
    assert events[-1]["response"]["status"] == "cancelled"


async def test_runs_a_crashed_server_left_are_failed_when_the_store_opens(serve, settings, sdk, db):
    store = ResponseStore.open(db)
    try:
        running = {"id": "resp_left", "status": "in_progress", "created_at": int(time.time())}
        await store.add({**running, "background": True, "output": []}, owner="server_gone")
    finally:
        await store.close()
    client = sdk(await serve(settings()))
    left = await client.responses.retrieve("resp_left")
    assert left.status == "failed" and "stopped before it finished" in left.error.message
