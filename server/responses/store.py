"""Stored responses (`/v1/responses`): SQLite by default, PostgreSQL by URL for several servers
behind one load balancer (`server.database`).

A response is a row holding its JSON and, once it is over, every event it streamed (so a
client that reconnects can replay them). A running one is `queued` or `in_progress`; `finish`
moves it to `completed`, `failed`, `cancelled` or `incomplete` only if it is still running,
in one conditional UPDATE: a cancel racing the natural end, two cancels, or a cancel after
completion store once, and never over a finished answer.

Each running row names the server running it (`owner`) and when that server last said it was
alive (`beat`). A server that stops without finishing its runs (a crash, SIGKILL) leaves them
running; `fail_abandoned` marks them `failed`: at start-up every run of an SQLite store (a
file belongs to one server), and on PostgreSQL, runs whose owner has been silent too long.
"""

from __future__ import annotations

import json
import time
from typing import Any

from server.database import Database, Schema

RUNNING = ("queued", "in_progress")
FINISHED = ("completed", "failed", "cancelled", "incomplete")

SCHEMA = Schema(
    "response",
    "responses_schema_version",
    [
        (
            1,
            [
                """CREATE TABLE responses (
                    id TEXT PRIMARY KEY,
                    status TEXT NOT NULL,
                    created DOUBLE PRECISION NOT NULL,
                    background INTEGER NOT NULL,
                    owner TEXT,
                    beat DOUBLE PRECISION,
                    body TEXT NOT NULL,
                    events TEXT
                )""",
                "CREATE INDEX responses_by_status ON responses (status, beat)",
                "CREATE INDEX responses_by_created ON responses (created)",
            ],
        )
    ],
)

_RUNNING_SQL = "status IN ('queued', 'in_progress')"


class ResponseStore:
    """Responses in one database, written and read on its thread."""

    def __init__(self, db: Database):
        self._db = db
        self.where = db.where

    @classmethod
    def open(cls, target: str) -> ResponseStore:
        """The store at `target` (a `postgresql://` URL or an SQLite path); `StoreError` when
        it cannot be opened."""
        return cls(Database.open(target, SCHEMA))

    @property
    def shared(self) -> bool:
        """Whether other servers may use this store too (PostgreSQL)."""
        return self._db.postgres

    async def add(
        self,
        response: dict[str, Any],
        *,
        owner: str | None,
        events: list[dict[str, Any]] | None = None,
    ) -> None:
        """Store a new response: a running one with its `owner`, a finished one with its
        `events`."""
        await self._db.execute(
            "INSERT INTO responses (id, status, created, background, owner, beat, body, events) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                response["id"],
                response["status"],
                response["created_at"],
                int(bool(response.get("background"))),
                owner,
                time.time() if owner else None,
                json.dumps(response),
                json.dumps(events) if events is not None else None,
            ],
        )

    async def start(self, response: dict[str, Any]) -> None:
        """A queued response is now `in_progress` (if nothing finished it meanwhile)."""
        await self._db.execute(
            f"UPDATE responses SET status = ?, body = ? WHERE id = ? AND {_RUNNING_SQL}",
            [response["status"], json.dumps(response), response["id"]],
        )

    async def finish(self, response: dict[str, Any], events: list[dict[str, Any]]) -> bool:
        """Store how a running response ended, with its events; False (and nothing changed)
        when it had already ended."""
        changed = await self._db.execute(
            "UPDATE responses SET status = ?, body = ?, events = ?, owner = NULL "
            f"WHERE id = ? AND {_RUNNING_SQL}",
            [response["status"], json.dumps(response), json.dumps(events), response["id"]],
        )
        return changed == 1

    async def get(self, id: str) -> tuple[dict[str, Any], list[dict[str, Any]] | None] | None:
        """A response and, once it is over, its events; None when there is no such id."""
        rows = await self._db.read("SELECT body, events FROM responses WHERE id = ?", [id])
        if not rows:
            return None
        body, events = rows[0]
        return json.loads(body), json.loads(events) if events is not None else None

    async def beat(self, owner: str) -> None:
        """Say that `owner` is alive and still running its responses."""
        await self._db.execute(
            f"UPDATE responses SET beat = ? WHERE owner = ? AND {_RUNNING_SQL}",
            [time.time(), owner],
        )

    async def ended(self, ids: list[str]) -> list[str]:
        """Those of `ids` stored as over (cancelled through another server, say)."""
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        rows = await self._db.read(
            f"SELECT id FROM responses WHERE id IN ({marks}) AND NOT {_RUNNING_SQL}", ids
        )
        return [row[0] for row in rows]

    async def fail_abandoned(self, *, silent_for: float | None) -> int:
        """Mark `failed` the running responses whose server is gone: all of them (None), or
        those whose owner has not beaten for `silent_for` seconds. How many."""
        where, params = _RUNNING_SQL, []
        if silent_for is not None:
            where += " AND beat < ?"
            params.append(time.time() - silent_for)

        def fail(cursor: Any) -> int:
            cursor.execute(self._db.sql(f"SELECT id, body FROM responses WHERE {where}"), params)
            failed = 0
            for id, body in cursor.fetchall():
                response = {**json.loads(body), "status": "failed", "error": ABANDONED}
                cursor.execute(
                    self._db.sql(
                        "UPDATE responses SET status = 'failed', body = ?, owner = NULL "
                        f"WHERE id = ? AND {_RUNNING_SQL}"
                    ),
                    [json.dumps(response), id],
                )
                failed += cursor.rowcount
            return failed

        return await self._db.transaction(fail)

    async def purge(self, created_before: float) -> int:
        """Delete finished responses created before `created_before`; how many went."""
        return await self._db.execute(
            f"DELETE FROM responses WHERE created < ? AND NOT {_RUNNING_SQL}", [created_before]
        )

    async def close(self) -> None:
        """Finish what is queued, then close the connection."""
        await self._db.close()


ABANDONED = {
    "code": "server_error",
    "message": "the server running this response stopped before it finished",
}
