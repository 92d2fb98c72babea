"""The call records' schema: numbered migrations, applied in order once each.

The SQL is the subset SQLite and PostgreSQL share. Times are unix seconds (DOUBLE PRECISION:
PostgreSQL's REAL would round them to minutes); a turn's latency parts are a JSON list of
`[stage, seconds]` in the order they happened. Instances starting together take turns (an
advisory lock on PostgreSQL, a write lock on SQLite), so each migration runs once.
"""

from __future__ import annotations

from typing import Any

_LOCK_ID = 0x766F6963  # "voic": the advisory lock the migrations hold on PostgreSQL

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


def migrate(connection: Any, *, postgres: bool) -> int:
    """Bring the database behind a DB-API `connection` (SQLite's, or PostgreSQL's when
    `postgres`) up to the newest migration, in one transaction; the version it is at."""
    placeholder = "%s" if postgres else "?"
    cursor = connection.cursor()
    # One instance at a time: the others wait here, then find the migrations done.
    if postgres:
        cursor.execute(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
    else:
        cursor.execute("BEGIN IMMEDIATE")
    cursor.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    cursor.execute("SELECT MAX(version) FROM schema_version")
    current = cursor.fetchone()[0] or 0
    for version, statements in MIGRATIONS:
        if version > current:
            for statement in statements:
                cursor.execute(statement)
            cursor.execute(
                f"INSERT INTO schema_version (version) VALUES ({placeholder})", [version]
            )
            current = version
    connection.commit()
    return current
