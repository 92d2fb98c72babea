"""`python -m voice` as a real subprocess, for the end-to-end tests and `bench.voice`.

Synchronous (`subprocess`), so a pytest fixture can start it: the app binds `--port=0`
itself, and is ready once it prints where it listens.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.http_json import post_json
from harness.process_table import children, cmdline
from server.parent_death import tied_to_parent

READY = re.compile(r"ws://(\S+)/ws-client")
START_TIMEOUT = 120.0  # imports and model loads on a busy 2-core machine


class VoiceAppError(RuntimeError):
    """`python -m voice` did not start; the message ends with its log."""


@dataclass
class VoiceApp:
    """A running `python -m voice`; its stderr (the log) goes to `log_path`."""

    process: subprocess.Popen[bytes]
    ws_url: str
    http_url: str
    log_path: Path

    def log(self) -> str:
        """Everything the app has logged so far."""
        return self.log_path.read_text(errors="replace")

    def server_pid(self) -> int:
        """The bundled completions server's pid."""
        pids = [p for p in children(self.process.pid) if "-m server" in cmdline(p)]
        assert len(pids) == 1, f"expected one server child, found {pids}"
        return pids[0]

    def start_session(
        self, transport: str, key: str | None, body: dict | None = None
    ) -> dict[str, Any]:
        """`POST /start` for `transport` with the operator `key`: the app's answer."""
        return post_json(
            f"{self.http_url}/start",
            {"transport": transport, "body": body or {}},
            {"Authorization": f"Bearer {key}"} if key else {},
        )

    def stop(self, sig: int = signal.SIGTERM, within: float = 30.0) -> int:
        """Send `sig`, wait for the app to exit, and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(within)


def start_voice_app(
    tmp_path: Path,
    *,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    module: str = "voice",
) -> VoiceApp:
    """Start `python -m voice --port=0 ARGS` and wait for the line that says where it listens.
    Its call records go to `tmp_path/calls.db` unless `env` names another `VOICE_DB`.

    `module` runs it another way: `harness.loopback_voice` has its WebRTC peers on loopback."""
    out_path, log_path = tmp_path / "voice.out", tmp_path / "voice.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_")}
    environ["VOICE_DB"] = str(tmp_path / "calls.db")  # the app's call records, its own
    environ.update(env or {})
    with out_path.open("wb") as out, log_path.open("wb") as log:
        process = subprocess.Popen(
            tied_to_parent([sys.executable, "-m", module, "--port=0", *args]),
            stdout=out,
            stderr=log,
            env=environ,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not (match := READY.search(out_path.read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            process.terminate()  # graceful, so a server child it started ends too
            process.wait(30)
            raise VoiceAppError(f"python -m voice did not start:\n{log_path.read_text()}")
        time.sleep(0.05)
    address = match.group(1)
    return VoiceApp(process, f"ws://{address}/ws-client", f"http://{address}", log_path)
