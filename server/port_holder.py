"""Who holds a port: for the start-up message when a port is taken, often by a server left
running by an earlier run (one killed before it could stop its children)."""

from __future__ import annotations

import os
from pathlib import Path

_LISTEN = "0A"  # the TCP state in /proc/net/tcp
_SECRET_WORDS = ("key", "token", "secret", "password")


def port_holders(port: int) -> list[int]:
    """The pids of processes listening on TCP `port` that this user may look at."""
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                sockets.add(f"socket:[{fields[9]}]")
    holders = []
    for entry in os.scandir("/proc") if sockets else ():
        if not entry.name.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry.name}/fd")
            if any(os.readlink(f"/proc/{entry.name}/fd/{fd}") in sockets for fd in fds):
                holders.append(int(entry.name))
        except OSError:
            continue
    return sorted(holders)


def address_in_use(host: str, port: int) -> str:
    """What to tell the operator when `host:port` is taken: by whom, and what to do."""
    holders = port_holders(port)
    if not holders:
        return (
            f"{host}:{port} is already in use by a process not visible here; "
            "stop it or pass another --port"
        )
    described = "; ".join(f"pid {pid}: {_command(pid)}" for pid in holders)
    pids = " ".join(map(str, holders))
    return (
        f"{host}:{port} is already in use ({described}). If that is one left running by an "
        f"earlier run, stop it (kill {pids}); or pass another --port"
    )


def _command(pid: int) -> str:
    """`pid`'s command line, each argument cut short, the value of anything secret hidden."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    shown = []
    for arg in filter(None, argv):
        name, eq, _ = arg.partition("=")
        if eq and any(word in name.lower() for word in _SECRET_WORDS):
            arg = f"{name}=***"
        arg = " ".join(arg.split())
        shown.append(arg if len(arg) <= 60 else arg[:57] + "...")
    return " ".join(shown)
