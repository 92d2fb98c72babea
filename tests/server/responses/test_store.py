"""The responses store on SQLite and a real PostgreSQL: one end per response, abandoned runs
failed, old responses purged, and two servers sharing one PostgreSQL store."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

from server.http.state import RESPONSES
from server.responses import runs
from server.responses.store import ResponseStore
from tests.conftest import pid_alive, wait_until


def running(id: str, **fields) -> dict:
    return {"id": id, "status": "in_progress", "created_at": int(time.time()), **fields}


async def test_a_response_ends_once_and_a_finished_one_is_never_overwritten(
    store_target: Callable[[], str],
):
    store = ResponseStore.open(store_target())
    try:
        await store.add(running("resp_1", background=True), owner="server_a")
        done = {**running("resp_1"), "status": "completed", "output_text": "Paris."}
        assert await store.finish(done, [{"type": "response.completed"}])
        late = {**running("resp_1"), "status": "cancelled", "output_text": "Par"}
        assert not await store.finish(late, [])
        body, events = await store.get("resp_1")
        assert body["status"] == "completed" and body["output_text"] == "Paris."
        assert events == [{"type": "response.completed"}]
        assert await store.get("resp_nothing") is None
    finally:
        await store.close()


async def test_abandoned_runs_are_failed_by_age_of_their_beat(store_target: Callable[[], str]):
    store = ResponseStore.open(store_target())
    try:
        await store.add(running("resp_old"), owner="server_gone")
        await store.add(running("resp_live"), owner="server_alive")
        await store.add({**running("resp_done"), "status": "completed"}, owner=None, events=[])
        await store._db.execute("UPDATE responses SET beat = ? WHERE id = ?", [0.0, "resp_old"])
        await store.beat("server_alive")
        assert await store.fail_abandoned(silent_for=30) == 1
        assert (await store.get("resp_old"))[0]["status"] == "failed"
        assert (await store.get("resp_live"))[0]["status"] == "in_progress"
        assert await store.fail_abandoned(silent_for=None) == 1  # an SQLite store's start-up
        assert (await store.get("resp_live"))[0]["status"] == "failed"
        assert (await store.get("resp_done"))[0]["status"] == "completed"
    finally:
        await store.close()


async def test_old_finished_responses_are_purged_running_ones_kept(
    store_target: Callable[[], str],
):
    store = ResponseStore.open(store_target())
    try:
        old = int(time.time()) - 100
        await store.add({**running("resp_a"), "created_at": old, "status": "completed"}, owner=None)
        await store.add({**running("resp_b"), "created_at": old}, owner="server_a")
        await store.add({**running("resp_c"), "status": "completed"}, owner=None)
        assert await store.purge(time.time() - 50) == 1
        assert await store.get("resp_a") is None
        assert await store.get("resp_b") is not None and await store.get("resp_c") is not None
    finally:
        await store.close()


async def test_two_servers_share_a_postgres_store(
    postgres: str, serve, fake_settings, sdk, records, monkeypatch
):
    monkeypatch.setattr(runs, "BEAT_EVERY", 0.1)
    name = f"shared_{int(time.time() * 1000)}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = postgres.rsplit("/", 1)[0] + f"/{name}"
    long = {"FAKE_CLI_ANSWER": " ".join(["word"] * 20)}
    a_server = await serve(fake_settings("slow", db=url, fake_env=long))
    a = sdk(a_server)
    b = sdk(await serve(fake_settings("slow", db=url, fake_env=long)))

    # A runs it; B follows it from the store and replays every event once it is over.
    made = await a.responses.create(model="sonnet", input="Hi", background=True)
    async with b.responses.with_streaming_response.retrieve(
        made.id, extra_query={"stream": "true"}
    ) as replay:
        text = await replay.text()
    assert "response.completed" in text and text.count("event: response.output_text.delta\n") == 20
    [first_pid] = [r["pid"] for r in records.all()]
    assert (await b.responses.retrieve(made.id)).output_text == long["FAKE_CLI_ANSWER"]

    # B cancels a run that A is running: stored cancelled at once; A stops it at its next
    # beat (its CLI killed), and A's end does not overwrite B's.
    slow = await a.responses.create(model="sonnet", input="Hi", background=True)
    [record] = [r for r in await records.wait_for(2, key="first_text") if r["pid"] != first_pid]
    cancelled = await b.responses.cancel(slow.id)
    assert cancelled.status == "cancelled"
    live = a_server.app[RESPONSES].runs
    assert await wait_until(lambda: slow.id not in live, 3.0)
    assert await wait_until(lambda: not pid_alive(record["pid"]), 1.0)
    for client in (a, b):
        assert (await client.responses.retrieve(slow.id)).model_dump() == cancelled.model_dump()
