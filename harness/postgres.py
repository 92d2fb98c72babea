"""A throwaway PostgreSQL server from Debian's `postgresql` package, for the tests: its own
data folder, a free loopback port, trust auth, no fsync; stopped when the block ends, and
killed if the process that started it dies. As root, it runs as the `postgres` user, which
the package creates."""

from __future__ import annotations

import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.child_server import free_port

START_TIMEOUT = 30.0
_PR_SET_PDEATHSIG = 1


class PostgresMissing(RuntimeError):
    """Debian's postgresql is not installed; the message says how to get it."""


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin folder."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PostgresMissing("PostgreSQL is not installed (apt-get install postgresql)")
    return Path(found[-1]).parent


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server with its data in a new folder under the system's temp folder (which
    the `postgres` user can reach, unlike pytest's); yields its URL (database `postgres`)."""
    bin_dir = postgres_bin()
    with tempfile.TemporaryDirectory(prefix="voice-postgres-") as tmp:
        with _serving(bin_dir, Path(tmp)) as url:
            yield url


@contextmanager
def _serving(bin_dir: Path, folder: Path) -> Iterator[str]:
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
    data = folder / "data"
    initdb = [bin_dir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]
    subprocess.run([*as_user, *initdb], check=True, capture_output=True)
    port = free_port()
    log = (folder / "postgres.log").open("wb")
    server = subprocess.Popen(
        [
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(folder),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],  # fmt: skip
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_as_postgres_dying_with_parent,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        _wait_until_ready(port, server, folder / "postgres.log")
        yield url
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown: ends its sessions
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _as_postgres_dying_with_parent() -> None:
    """In the server's child before exec: become `postgres` (when root), then ask for SIGKILL
    when the parent dies. In this order: changing the user clears the parent-death signal,
    which is why `setpriv --pdeathsig` cannot do both."""
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.initgroups("postgres", user.pw_gid)
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _wait_until_ready(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"postgres did not start:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                if "ready to accept connections" in log.read_text(errors="replace"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
