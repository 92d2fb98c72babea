"""The process table around a process under test, read from /proc: its children, their
command lines and environments, and waiting for pids to end."""

from __future__ import annotations

import time
from pathlib import Path

from server.cli.process import pid_running

_POLL = 0.05


def children(pid: int) -> list[int]:
    """The live (not zombie) direct children of `pid`; none once it is gone."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return [child for child in found if pid_running(child)]


def cmdline(pid: int) -> str:
    """The command line of `pid`, its arguments joined by spaces, or "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def environ(pid: int) -> dict[str, str]:
    """The environment `pid` started with (readable by its user and root), or {} once gone."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.decode(errors="replace").split("=", 1) for item in raw.split(b"\0"))
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def wait_until_gone(pids: list[int], within: float = 10.0) -> list[int]:
    """Wait for every pid to end; the ones still running after `within` seconds."""
    deadline = time.monotonic() + within
    while (alive := [p for p in pids if pid_running(p)]) and time.monotonic() < deadline:
        time.sleep(_POLL)
    return alive
