"""What the fake CLI's processes wrote about themselves (`FAKE_CLI_RECORD_DIR`)."""

from __future__ import annotations

import json
from pathlib import Path


def cli_records(directory: Path) -> list[dict]:
    """Every fake CLI record written so far (a record caught mid-write is skipped)."""
    found = []
    for path in directory.glob("*.json"):
        try:
            found.append(json.loads(path.read_text()))
        except ValueError:
            continue
    return found


def prompt(record: dict) -> str:
    """The prompt a fake CLI process was given, or "" while it waits for one."""
    return json.loads(record["stdin"])["message"]["content"] if record.get("stdin") else ""


def cli_records_by_pid(directory: Path) -> dict[int, dict]:
    """The fake CLI records by pid."""
    return {r["pid"]: r for r in cli_records(directory)}
