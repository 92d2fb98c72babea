"""The call records' schema: numbered migrations, applied in order once each.

The SQL is the subset SQLite and PostgreSQL share. Times are unix seconds (DOUBLE PRECISION:
PostgreSQL's REAL would round them to minutes); a turn's latency parts are a JSON list of
`[stage, seconds]` in the order they happened. `server.database` applies them.
"""

from __future__ import annotations

from server.database import Schema

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE calls (
                id TEXT PRIMARY KEY,
                transport TEXT NOT NULL,
                caller TEXT,
                started DOUBLE PRECISION NOT NULL,
                ended DOUBLE PRECISION,
                end_reason TEXT,
                end_detail TEXT
            )""",
            "CREATE INDEX calls_by_start ON calls (started)",
            """CREATE TABLE turns (
                call_id TEXT NOT NULL REFERENCES calls (id),
                number INTEGER NOT NULL,
                at DOUBLE PRECISION NOT NULL,
                user_text TEXT NOT NULL,
                bot_text TEXT NOT NULL,
                interrupted INTEGER NOT NULL,
                latency_total DOUBLE PRECISION,
                latency_parts TEXT,
                PRIMARY KEY (call_id, number)
            )""",
        ],
    ),
]

SCHEMA = Schema("call", "schema_version", MIGRATIONS)
