"""The call store on SQLite and on a real PostgreSQL: written as a call goes, read back
newest first, paged and filtered, kept across a restart, purged by age."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from voice.calls.schema import MIGRATIONS
from voice.calls.store import Call, CallStore, StoreError, Turn


@pytest.fixture
def target(store_target: Callable[[], str]) -> Callable[[], str]:
    return store_target


PARTS = (("endpointing_wait", 0.2), ("transcription", 0.3), ("llm_inference", 0.5))


def a_turn(number: int, interrupted: bool = False) -> Turn:
    return Turn(
        number=number,
        at=1000.0 + number,
        user_text=f"question {number}",
        bot_text=f"answer {number}",
        interrupted=interrupted,
        latency_total=1.0,
        latency_parts=PARTS,
    )


async def test_a_call_is_written_as_it_goes_and_read_back_whole(target: Callable[[], str]):
    store = CallStore.open(target())
    await store.start_call(Call("c1", "twilio", "+15550001111", started=1000.0))
    await store.add_turn("c1", a_turn(1))
    live = await store.get_call("c1")
    await store.add_turn("c1", a_turn(2, interrupted=True))
    await store.end_call("c1", 1010.0, "caller hung up", None)
    await store.end_call("c1", 1020.0, "server shutdown", None)  # only the first end counts

    call = await store.get_call("c1")
    await store.close()

    assert live is not None and live.ended is None and [t.number for t in live.turns] == [1]
    assert call == Call(
        "c1", "twilio", "+15550001111", 1000.0, 1010.0, "caller hung up", None,
        turn_count=2, turns=(a_turn(1), a_turn(2, interrupted=True)),
    )  # fmt: skip
    assert call.as_json(with_turns=True)["turns"][1] == {
        "number": 2,
        "at": 1002.0,
        "user": "question 2",
        "bot": "answer 2",
        "interrupted": True,
        "latency": {"total": 1.0, "parts": dict(PARTS)},
    }


async def test_each_turn_is_written_once(target: Callable[[], str]):
    store = CallStore.open(target())
    await store.start_call(Call("c1", "websocket", None, started=1.0))
    await store.add_turn("c1", a_turn(1))

    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        await store.add_turn("c1", a_turn(1))
    assert len((await store.get_call("c1")).turns) == 1
    await store.close()


async def test_the_list_is_newest_first_paged_and_filtered(target: Callable[[], str]):
    store = CallStore.open(target())
    for i in range(5):
        transport = "webrtc" if i % 2 else "websocket"
        await store.start_call(Call(f"c{i}", transport, None, started=100.0 + i))
    await store.add_turn("c4", a_turn(1))

    first = await store.list_calls(limit=2)
    second = await store.list_calls(limit=2, offset=2)
    webrtc = await store.list_calls(limit=10, transport="webrtc")
    window = await store.list_calls(limit=10, since=101.0, until=103.0)
    await store.close()

    assert [(c.id, c.turn_count) for c in first] == [("c4", 1), ("c3", 0)]
    assert [c.id for c in second] == ["c2", "c1"]
    assert [c.id for c in webrtc] == ["c3", "c1"]
    assert [c.id for c in window] == ["c2", "c1"]


async def test_records_survive_a_restart_and_old_ones_are_purged(target: Callable[[], str]):
    before = CallStore.open(target())
    await before.start_call(Call("old", "websocket", None, started=10.0))
    await before.add_turn("old", a_turn(1))
    await before.start_call(Call("new", "websocket", None, started=1000.0))
    await before.close()

    after = CallStore.open(target())
    assert [c.id for c in await after.list_calls(limit=10)] == ["new", "old"]
    assert await after.purge(started_before=500.0) == 1
    assert await after.get_call("old") is None
    assert await after.delete_call("new") and not await after.delete_call("new")
    assert await after.list_calls(limit=10) == []
    await after.close()


def test_instances_opening_a_new_store_together_migrate_it_once(target: Callable[[], str]):
    where = target()
    opened: list[CallStore] = []

    def open_one() -> None:
        opened.append(CallStore.open(where))

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(opened) == 3
    for store in opened:
        asyncio.run(store.close())
    connect = psycopg.connect if where.startswith("postgresql") else sqlite3.connect
    with connect(where) as db:
        versions = db.execute("SELECT version FROM schema_version").fetchall()
    assert versions == [(v,) for v, _ in MIGRATIONS]


def test_a_store_that_cannot_be_opened_says_why(tmp_path: Path):
    (tmp_path / "file").write_text("")

    with pytest.raises(StoreError, match="cannot open the call store"):
        CallStore.open(str(tmp_path / "file" / "calls.db"))
