"""`python -m voice` as a real subprocess for end-to-end tests, and the process table around it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from tests.voice.pipecat_client import Received
from voice.services.whisper_stt import default_model_path, load_model

READY = re.compile(r"ws://(\S+)/ws-client")
START_TIMEOUT = 120.0  # imports and model loads on a busy 2-core machine


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

    def stop(self, sig: int = signal.SIGTERM, within: float = 30.0) -> int:
        """Send `sig`, wait for the app to exit, and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(within)


def start_voice_app(
    tmp_path: Path, *, args: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> VoiceApp:
    """Start `python -m voice --port=0 ARGS` and wait for the line that says where it listens."""
    out_path, log_path = tmp_path / "voice.out", tmp_path / "voice.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_")}
    environ.update(env or {})
    with out_path.open("wb") as out, log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "voice", "--port=0", *args],
            stdout=out,
            stderr=log,
            env=environ,
            cwd=Path(__file__).parents[2],
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not (match := READY.search(out_path.read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            process.terminate()  # graceful, so a server child it started ends too
            process.wait(30)
            raise AssertionError(f"python -m voice did not start:\n{log_path.read_text()}")
        time.sleep(0.05)
    address = match.group(1)
    return VoiceApp(process, f"ws://{address}/ws-client", f"http://{address}", log_path)


def children(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat and int(stat[1]) == pid and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def cmdline(pid: int) -> str:
    """The command line of `pid`, or "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def wait_until_gone(pids: list[int], within: float = 10.0) -> list[int]:
    """Wait for every pid to end; the ones still running after `within` seconds."""
    deadline = time.monotonic() + within
    while (alive := [p for p in pids if running(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def transcribe_bot_audio(received: Received, start: float, end: float = float("inf")) -> str:
    """What Whisper hears in the bot's 24 kHz audio that arrived in [start, end)."""
    pcm = received.audio_between(start, end)
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    samples = soxr.resample(samples, 24000, 16000)
    segments, _ = load_model(default_model_path()).transcribe(
        samples, language="en", beam_size=1, condition_on_previous_text=False
    )
    return " ".join(segment.text.strip() for segment in segments)
