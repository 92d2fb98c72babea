"""The call store on SQLite: written as a call goes, read back newest first, paged and
filtered, kept across a restart, purged by age."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from voice.calls.schema import MIGRATIONS
from voice.calls.store import Call, CallStore, StoreError, Turn

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


async def test_a_call_is_written_as_it_goes_and_read_back_whole(tmp_path: Path):
    store = CallStore.open(str(tmp_path / "calls.db"))
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


async def test_each_turn_is_written_once(tmp_path: Path):
    store = CallStore.open(str(tmp_path / "calls.db"))
    await store.start_call(Call("c1", "websocket", None, started=1.0))
    await store.add_turn("c1", a_turn(1))

    with pytest.raises(sqlite3.IntegrityError):
        await store.add_turn("c1", a_turn(1))
    assert len((await store.get_call("c1")).turns) == 1
    await store.close()


async def test_the_list_is_newest_first_paged_and_filtered(tmp_path: Path):
    store = CallStore.open(str(tmp_path / "calls.db"))
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


async def test_records_survive_a_restart_and_old_ones_are_purged(tmp_path: Path):
    path = str(tmp_path / "sub" / "calls.db")
    before = CallStore.open(path)
    await before.start_call(Call("old", "websocket", None, started=10.0))
    await before.add_turn("old", a_turn(1))
    await before.start_call(Call("new", "websocket", None, started=1000.0))
    await before.close()

    after = CallStore.open(path)
    assert [c.id for c in await after.list_calls(limit=10)] == ["new", "old"]
    assert await after.purge(started_before=500.0) == 1
    assert await after.get_call("old") is None
    assert await after.delete_call("new") and not await after.delete_call("new")
    assert await after.list_calls(limit=10) == []
    await after.close()

    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone() == (0,)
        versions = db.execute("SELECT version FROM schema_version").fetchall()
    assert versions == [(v,) for v, _ in MIGRATIONS]  # each migration applied once


def test_a_store_that_cannot_be_opened_says_why(tmp_path: Path):
    (tmp_path / "file").write_text("")

    with pytest.raises(StoreError, match="cannot open the call store"):
        CallStore.open(str(tmp_path / "file" / "calls.db"))
