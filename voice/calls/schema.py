"""The call records' schema: numbered migrations, applied in order once each.

The SQL is the subset SQLite and PostgreSQL share. Times are unix seconds (REAL); a turn's
latency parts are a JSON list of `[stage, seconds]` in the order they happened.
"""

from __future__ import annotations

from typing import Any

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE calls (
                id TEXT PRIMARY KEY,
                transport TEXT NOT NULL,
                caller TEXT,
                started REAL NOT NULL,
                ended REAL,
                end_reason TEXT,
                end_detail TEXT
            )""",
            "CREATE INDEX calls_by_start ON calls (started)",
            """CREATE TABLE turns (
                call_id TEXT NOT NULL REFERENCES calls (id),
                number INTEGER NOT NULL,
                at REAL NOT NULL,
                user_text TEXT NOT NULL,
                bot_text TEXT NOT NULL,
                interrupted INTEGER NOT NULL,
                latency_total REAL,
                latency_parts TEXT,
                PRIMARY KEY (call_id, number)
            )""",
        ],
    ),
]


def migrate(connection: Any, placeholder: str) -> int:
    """Bring the database behind a DB-API `connection` up to the newest migration, in one
    transaction; the schema version it is at."""
    cursor = connection.cursor()
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
