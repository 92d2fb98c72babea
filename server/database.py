"""One database for a store: SQLite by default (a file, WAL), PostgreSQL by URL for several
instances sharing it, behind the same few methods.

One connection, used from one thread (`ThreadPoolExecutor(max_workers=1)`): every write and
read is queued there, so there is one writer per process and the event loop never blocks on
the database. SQL is written with `?` placeholders, the subset both databases share.

Each store brings its schema as numbered migrations, applied in order once each when the
database is opened. Instances starting together take turns (an advisory lock on PostgreSQL,
a write lock on SQLite), so each migration runs once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class StoreError(RuntimeError):
    """The database cannot be opened (a bad path or URL, a missing driver); the message says
    why."""


@dataclass(frozen=True)
class Schema:
    """A store's tables, as numbered migrations `(number, [SQL])`, and the table that keeps
    which have run (one per store, so stores can share a database)."""

    name: str
    version_table: str
    migrations: list[tuple[int, list[str]]]


class Database:
    """A connection on its own thread; `transaction` runs work there in one transaction."""

    def __init__(self, connect: Callable[[], Any], schema: Schema, *, postgres: bool, where: str):
        self.where = where  # for logs: the file, or the URL without its password
        self.postgres = postgres
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{schema.name}-db")
        try:
            self._connection = self._thread.submit(self._open, connect, schema).result()
        except BaseException:
            self._thread.shutdown()
            raise

    @classmethod
    def open(cls, target: str, schema: Schema) -> Database:
        """The database at `target`, migrated to `schema`: a `postgresql://` URL, else an
        SQLite file path (created, with its folder, if missing)."""
        if target.startswith(("postgresql://", "postgres://")):
            try:
                import psycopg
            except ImportError as e:
                raise StoreError(
                    "a postgresql:// store needs psycopg: install '.[postgres]'"
                ) from e
            where = f"postgresql://...@{target.split('@')[-1]}"
            try:
                return cls(lambda: psycopg.connect(target), schema, postgres=True, where=where)
            except psycopg.Error as e:
                raise StoreError(f"cannot open the {schema.name} store {where}: {e}") from e
        path = Path(target).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return cls(lambda: _sqlite(path), schema, postgres=False, where=str(path))
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open the {schema.name} store {path}: {e}") from e

    async def execute(self, sql: str, params: list[Any]) -> int:
        """Run one statement; the rows it changed."""

        def run(cursor: Any) -> int:
            cursor.execute(self.sql(sql), params)
            return cursor.rowcount

        return await self.transaction(run)

    async def read(self, sql: str, params: list[Any]) -> list[tuple]:
        """The rows of one query."""

        def read(cursor: Any) -> list[tuple]:
            cursor.execute(self.sql(sql), params)
            return cursor.fetchall()

        return await self.transaction(read)

    async def transaction(self, work: Callable[[Any], T]) -> T:
        """Run `work(cursor)` on the database's thread and commit (roll back if it raises)."""

        def run() -> T:
            cursor = self._connection.cursor()
            try:
                result = work(cursor)
                self._connection.commit()
                return result
            except BaseException:
                self._connection.rollback()
                raise
            finally:
                cursor.close()

        return await asyncio.get_running_loop().run_in_executor(self._thread, run)

    def sql(self, sql: str) -> str:
        """`sql` with this database's placeholders."""
        return sql.replace("?", "%s") if self.postgres else sql

    async def close(self) -> None:
        """Finish what is queued, then close the connection."""
        await asyncio.get_running_loop().run_in_executor(self._thread, self._connection.close)
        self._thread.shutdown(wait=True)

    def _open(self, connect: Callable[[], Any], schema: Schema) -> Any:
        connection = connect()
        migrate(connection, schema, postgres=self.postgres)
        return connection


def migrate(connection: Any, schema: Schema, *, postgres: bool) -> int:
    """Bring the database behind a DB-API `connection` (SQLite's, or PostgreSQL's when
    `postgres`) up to `schema`'s newest migration, in one transaction; the version it is at."""
    placeholder = "%s" if postgres else "?"
    table = schema.version_table
    cursor = connection.cursor()
    # One instance at a time: the others wait here, then find the migrations done.
    if postgres:
        cursor.execute(f"SELECT pg_advisory_xact_lock({zlib.crc32(schema.name.encode())})")
    else:
        cursor.execute("BEGIN IMMEDIATE")
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)")
    cursor.execute(f"SELECT MAX(version) FROM {table}")
    current = cursor.fetchone()[0] or 0
    for version, statements in schema.migrations:
        if version > current:
            for statement in statements:
                cursor.execute(statement)
            cursor.execute(f"INSERT INTO {table} (version) VALUES ({placeholder})", [version])
            current = version
    connection.commit()
    return current


def _sqlite(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA busy_timeout=5000")  # another instance's write in progress
    return connection
