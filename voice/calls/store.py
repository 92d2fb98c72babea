"""Where call records live: SQLite by default, PostgreSQL by URL for several voice instances
sharing one store (`server.database`: one connection on one thread, numbered migrations).

Each call is written as it goes: a row when it starts, each turn once when it ends, the end
when it ends; a crash loses at most the turn in flight.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from server.database import Database, StoreError
from voice.calls.schema import SCHEMA

__all__ = ["Call", "CallStore", "StoreError", "Turn"]

_CALL_COLUMNS = "id, transport, caller, started, ended, end_reason, end_detail"
_TURN_COLUMNS = "number, at, user_text, bot_text, interrupted, latency_total, latency_parts"


@dataclass(frozen=True)
class Turn:
    """One exchange: the caller's words, the bot's as spoken, and how long the answer took."""

    number: int
    at: float
    user_text: str
    bot_text: str
    interrupted: bool
    latency_total: float | None = None
    latency_parts: tuple[tuple[str, float], ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The turn as the API shows it."""
        return {
            "number": self.number,
            "at": self.at,
            "user": self.user_text,
            "bot": self.bot_text,
            "interrupted": self.interrupted,
            "latency": None
            if self.latency_total is None
            else {"total": self.latency_total, "parts": dict(self.latency_parts)},
        }


@dataclass(frozen=True)
class Call:
    """One call: who, over what, when, how it ended; its turns when asked for one call."""

    id: str
    transport: str
    caller: str | None
    started: float
    ended: float | None = None
    end_reason: str | None = None
    end_detail: str | None = None
    turn_count: int = 0
    turns: tuple[Turn, ...] = field(default=())

    def as_json(self, *, with_turns: bool = False) -> dict[str, Any]:
        """The call as the API shows it."""
        shown: dict[str, Any] = {
            "id": self.id,
            "transport": self.transport,
            "caller": self.caller,
            "started": self.started,
            "ended": self.ended,
            "end": None
            if self.end_reason is None
            else {"reason": self.end_reason, "detail": self.end_detail},
            "turns": [t.as_json() for t in self.turns] if with_turns else self.turn_count,
        }
        return shown


class CallStore:
    """Call records in one database; every method runs on the store's own thread."""

    def __init__(self, db: Database):
        self._db = db
        self.where = db.where  # for logs: the file, or the URL without its password

    @classmethod
    def open(cls, target: str) -> CallStore:
        """The store at `target`: a `postgresql://` URL, else an SQLite file path (created,
        with its folder, if missing). Raises `StoreError` when it cannot be opened."""
        return cls(Database.open(target, SCHEMA))

    async def start_call(self, call: Call) -> None:
        """Record that `call` started."""
        await self._db.execute(
            f"INSERT INTO calls ({_CALL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [call.id, call.transport, call.caller, call.started, None, None, None],
        )

    async def add_turn(self, call_id: str, turn: Turn) -> None:
        """Record one finished turn of `call_id`, once."""
        await self._db.execute(
            f"INSERT INTO turns (call_id, {_TURN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                call_id,
                turn.number,
                turn.at,
                turn.user_text,
                turn.bot_text,
                int(turn.interrupted),
                turn.latency_total,
                json.dumps(turn.latency_parts) if turn.latency_parts else None,
            ],
        )

    async def end_call(self, call_id: str, ended: float, reason: str, detail: str | None) -> None:
        """Record how `call_id` ended (only its first end counts)."""
        await self._db.execute(
            "UPDATE calls SET ended = ?, end_reason = ?, end_detail = ? "
            "WHERE id = ? AND ended IS NULL",
            [ended, reason, detail, call_id],
        )

    async def list_calls(
        self,
        *,
        limit: int,
        offset: int = 0,
        transport: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Call]:
        """Calls newest first, with their number of turns, filtered and paged."""
        where, params = ["1 = 1"], []
        for clause, value in (("transport = ?", transport), ("started >= ?", since)):
            if value is not None:
                where.append(clause)
                params.append(value)
        if until is not None:
            where.append("started < ?")
            params.append(until)
        sql = (
            f"SELECT {_CALL_COLUMNS}, "
            "(SELECT COUNT(*) FROM turns WHERE turns.call_id = calls.id) "
            f"FROM calls WHERE {' AND '.join(where)} "
            "ORDER BY started DESC, id DESC LIMIT ? OFFSET ?"
        )
        rows = await self._db.read(sql, [*params, limit, offset])
        return [Call(*row[:7], turn_count=row[7]) for row in rows]

    async def get_call(self, call_id: str) -> Call | None:
        """One call with its turns in order, or None."""
        calls = await self._db.read(f"SELECT {_CALL_COLUMNS} FROM calls WHERE id = ?", [call_id])
        if not calls:
            return None
        rows = await self._db.read(
            f"SELECT {_TURN_COLUMNS} FROM turns WHERE call_id = ? ORDER BY number", [call_id]
        )
        turns = tuple(_turn(row) for row in rows)
        return Call(*calls[0], turn_count=len(turns), turns=turns)

    async def delete_call(self, call_id: str) -> bool:
        """Delete a call and its turns; whether there was one."""

        def delete(cursor: Any) -> bool:
            cursor.execute(self._db.sql("DELETE FROM turns WHERE call_id = ?"), [call_id])
            cursor.execute(self._db.sql("DELETE FROM calls WHERE id = ?"), [call_id])
            return cursor.rowcount > 0

        return await self._db.transaction(delete)

    async def purge(self, started_before: float) -> int:
        """Delete every call that started before `started_before`; how many went."""

        def purge(cursor: Any) -> int:
            old = "SELECT id FROM calls WHERE started < ?"
            cursor.execute(
                self._db.sql(f"DELETE FROM turns WHERE call_id IN ({old})"), [started_before]
            )
            cursor.execute(self._db.sql("DELETE FROM calls WHERE started < ?"), [started_before])
            return cursor.rowcount

        return await self._db.transaction(purge)

    async def close(self) -> None:
        """Finish what is queued, then close the connection."""
        await self._db.close()


def _turn(row: tuple) -> Turn:
    number, at, user_text, bot_text, interrupted, total, parts = row
    return Turn(
        number=number,
        at=at,
        user_text=user_text,
        bot_text=bot_text,
        interrupted=bool(interrupted),
        latency_total=total,
        latency_parts=tuple((str(k), float(v)) for k, v in json.loads(parts)) if parts else (),
    )
