"""`python -m bench.voice` run as a user would, on the fake CLI; speed unchecked."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from harness.process_table import cmdline
from tests.bench.bench_command import run_bench

# About 5 s of speech: long enough to barge in on after 1 s and still be talking.
ANSWER = "Paris is the capital of France. It sits on the river Seine, in the north of the country."
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def bench(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return run_bench("voice", *args, env=env, timeout=timeout)


def test_help_explains_every_option():
    done = bench("--help", timeout=60)
    assert done.returncode == 0
    for option in (
        "--turns",
        "--calls",
        "--warmup",
        "--barge-in-trials",
        "--barge-after",
        "--barge-in-history",
        "--audio",
        "--verify",
        "--llm-cli",
        "--url",
        "--transport",
        "--label",
        "--timeout",
        "--json",
        "--plot",
        "--compare-calls",
        "--compare-app",
        "--rounds",
        "VOICE_FLAGS",
    ):
        assert option in done.stdout


def test_smoke_run_measures_turns_and_a_barge_in(fake_cli: Path, tmp_path: Path):
    record_path, plot_path = tmp_path / "voice.json", tmp_path / "voice.png"
    done = bench(
        *("-n", "2", "-c", "2", "--barge-in-trials", "1", "--barge-in-history", "1"),
        *("--json", str(record_path), "--plot", str(plot_path)),
        *("--", f"--llm-cli={fake_cli}"),
        env={**os.environ, "FAKE_CLI_ANSWER": ANSWER},
    )
    assert done.returncode == 0, done.stdout + done.stderr

    record = json.loads(record_path.read_text())
    measured = record["transports"]["websocket"]
    turns = [t for t in measured["turns"] if t["phase"] == "turn"]
    assert sorted((t["call"], t["index"]) for t in turns) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(t["ok"] and t["error"] is None for t in turns), turns
    for turn in turns:
        assert turn["first_audio_ms"] > 0 and turn["answer_span_ms"] > 0
        # The first audible sample is in the first frames, not before the first.
        assert turn["first_audio_ms"] <= turn["first_speech_ms"] < turn["first_audio_ms"] + 500
        assert turn["answer_audio_ms"] > 1000 and turn["answer_rms"] > 100
        assert "capital" in turn["transcript"].lower()  # --verify is on by default
    [trial] = measured["barge_in"]
    assert trial["ok"] and trial["error"] is None, trial
    assert trial["heard_ms"] >= 1000 and trial["reply_ms"] > 0
    # The bot fell silent while the caller was still talking over it.
    assert trial["stop_ms"] < trial["interrupting_speech_ms"]
    assert trial["interruption_ms"] is not None and trial["bot_interrupted_ms"] is not None
    assert len(trial["history"]) == 1  # a question asked and answered on its session first
    assert all(s["failed"] == 0 for s in record["summary"])
    server = [t for t in measured["server_turns"] if t["phase"] == "turn"]
    assert len(server) == 4 and all(t["total_ms"] > 0 and "stt_ms" in t for t in server)
    # The trial's session answered three turns: the history question, the story, the reply.
    assert len([t for t in measured["server_turns"] if t["phase"] == "barge-in"]) == 3
    assert record["config"]["turns"] == 2 and record["config"]["calls"] == 2
    assert record["machine"]["packages"]["pipecat-ai"]

    assert "client: first audio" in done.stdout and "server: STT" in done.stdout
    assert "client: first speech" in done.stdout
    assert re.search(r"first audio p50 by turn \(ms\): 1: \d+, 2: \d+", done.stdout)
    assert plot_path.read_bytes().startswith(PNG_MAGIC)
    # The app it started, and that app's server, are gone.
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    assert not [pid for pid in pids if str(fake_cli) in cmdline(pid)]


def test_smoke_run_over_a_phone_call_and_webrtc_beside_the_websocket(
    fake_cli: Path, tmp_path: Path
):
    record_path = tmp_path / "voice.json"
    transports = "websocket,twilio,webrtc"
    done = bench(
        *("--transport", transports, "-n", "1", "--warmup", "1", "--barge-in-trials", "1"),
        *("--json", str(record_path), "--", f"--llm-cli={fake_cli}"),
        env={**os.environ, "FAKE_CLI_ANSWER": ANSWER},
    )
    assert done.returncode == 0, done.stdout + done.stderr

    record = json.loads(record_path.read_text())
    assert list(record["transports"]) == ["websocket", "twilio", "webrtc"]
    phone = record["transports"]["twilio"]
    [turn] = [t for t in phone["turns"] if t["phase"] == "turn"]
    assert turn["ok"] and turn["audio_rate"] == 8000, turn
    assert turn["first_audio_ms"] > 0 and turn["answer_audio_ms"] > 1000
    assert "capital" in turn["transcript"].lower()
    [trial] = phone["barge_in"]
    assert trial["ok"] and trial["error"] is None, trial
    assert trial["stop_ms"] < trial["interrupting_speech_ms"]
    # A phone gets Twilio's clear for the interruption, and no RTVI.
    assert trial["interruption_ms"] is not None and trial["bot_interrupted_ms"] is None
    # Each transport's server lines are its own: one measured turn each.
    for measured in record["transports"].values():
        assert len([t for t in measured["server_turns"] if t["phase"] == "turn"]) == 1
    # Over WebRTC: the answer heard at 48 kHz, the barge-in timed by the audio (no RTVI).
    webrtc = record["transports"]["webrtc"]
    [turn] = [t for t in webrtc["turns"] if t["phase"] == "turn"]
    assert turn["ok"] and turn["audio_rate"] == 48000, turn
    assert "capital" in turn["transcript"].lower()
    [trial] = webrtc["barge_in"]
    assert trial["ok"] and trial["stop_ms"] < trial["interrupting_speech_ms"], trial
    assert record["config"]["transports"] == ["websocket", "twilio", "webrtc"]
    # Side by side: both labels' first-audio rows, and their ratio.
    rows = [r for r in record["summary"] if r["metric"] == "client: first audio"]
    base = phone["label"].replace(" (twilio)", "")
    assert [r["label"] for r in rows] == [base, phone["label"], f"{base} (webrtc)"]
    assert "(twilio)" in done.stdout
    assert any(r.startswith("client: first audio: twilio / websocket = ") for r in record["ratios"])


def test_compare_calls_measures_each_concurrency_on_one_app_with_its_memory(
    fake_cli: Path, tmp_path: Path
):
    record_path = tmp_path / "voice.json"
    done = bench(
        *("--compare-calls", "1,2", "-n", "1", "--warmup", "0", "--barge-in-trials", "0"),
        *("--json", str(record_path), "--", f"--llm-cli={fake_cli}"),
        env={**os.environ, "FAKE_CLI_ANSWER": ANSWER},
    )
    assert done.returncode == 0, done.stdout + done.stderr

    record = json.loads(record_path.read_text())
    assert list(record["transports"]) == ["websocket x1", "websocket x2"]
    for calls, measured in zip((1, 2), record["transports"].values(), strict=True):
        turns = [t for t in measured["turns"] if t["phase"] == "turn"]
        assert len(turns) == calls and all(t["ok"] for t in turns), turns
        assert measured["peak_mb"] > 100  # the app, its server and the models, resident
        assert len([t for t in measured["server_turns"] if t["phase"] == "turn"]) == calls
    assert any(
        r.startswith("client: first audio: websocket x2 / websocket x1 = ")
        for r in record["ratios"]
    )
    assert "app memory at its peak" in done.stdout


def test_compare_app_in_rounds_measures_each_app_again_taking_turns_to_go_first(
    fake_cli: Path, tmp_path: Path
):
    record_path = tmp_path / "voice.json"
    done = bench(
        *("-n", "1", "--warmup", "0", "--barge-in-trials", "0", "--rounds", "2"),
        *("--compare-app", "clause=--first-clause --speech-timeout=0.4"),
        *("--json", str(record_path), "--", f"--llm-cli={fake_cli}"),
        env={**os.environ, "FAKE_CLI_ANSWER": ANSWER},
    )
    assert done.returncode == 0, done.stdout + done.stderr

    record = json.loads(record_path.read_text())
    assert list(record["transports"]) == ["websocket", "websocket clause"]
    for measured in record["transports"].values():
        # One turn a round, both rounds pooled, each round's p50 kept.
        assert [t["ok"] for t in measured["turns"] if t["phase"] == "turn"] == [True, True]
        assert len(measured["first_audio_p50_by_round"]) == 2
        assert any(
            line.startswith("first audio p50 by round (ms): 1: ") for line in measured["headline"]
        )
    assert record["config"]["compare_apps"] == [
        ["clause", ["--first-clause", "--speech-timeout=0.4"]]
    ]
    assert record["config"]["rounds"] == 2
    assert any(
        r.startswith("client: first audio: websocket clause / websocket = ")
        for r in record["ratios"]
    )
    assert any(
        re.fullmatch(
            r"client: first audio: websocket clause / websocket at p50 by round: "
            r"[0-9.]+x, [0-9.]+x",
            r,
        )
        for r in record["ratios"]
    )
    starts = [line for line in done.stderr.splitlines() if "starting python -m voice" in line]
    clause = ["--first-clause" in line for line in starts]
    assert clause == [False, True, True, False]  # A B, then B A
    assert "2 rounds pooled" in done.stdout


def test_rounds_need_apps_the_bench_starts():
    done = bench("--rounds", "2", "--url", "ws://127.0.0.1:9/ws-client", timeout=60)

    assert done.returncode == 2
    assert "--rounds starts new apps each round: not with --url" in done.stderr


def test_compare_app_needs_a_name_and_flags():
    done = bench("--compare-app=--first-clause", timeout=60)

    assert done.returncode == 2
    assert "NAME=FLAGS" in done.stderr


def test_a_calls_list_with_a_zero_is_a_usage_error():
    done = bench("--compare-calls", "1,0", timeout=60)

    assert done.returncode == 2
    assert "numbers of calls, 1 or more" in done.stderr


def test_a_transport_list_with_an_unknown_one_is_a_usage_error():
    done = bench("--transport", "websocket,pigeon", timeout=60)

    assert done.returncode == 2
    assert "'websocket,pigeon': choose one or more of websocket, twilio, webrtc" in done.stderr


def test_rounds_pool_into_one_result_that_keeps_each_round():
    from bench.voice.report import Results, headline, pooled, ratios
    from bench.voice.turns import TurnSample

    def results(*first_audio_ms: float, peak: float) -> Results:
        turns = [
            TurnSample(
                *(0, "turn", i, "q"),
                ok=True,
                first_audio_ms=ms,
                answer_span_ms=1000,
                answer_audio_ms=1000,
            )
            for i, ms in enumerate(first_audio_ms)
        ]
        server = [{"phase": "turn", "total_ms": ms - 20} for ms in first_audio_ms]
        return Results(turns, [], server, peak)

    a = pooled([results(700, 720, peak=900), results(800, 820, peak=950)])
    b = pooled([results(630, 650, peak=800), results(760, 780, peak=990)])

    assert [t.first_audio_ms for t in a.turns] == [700, 720, 800, 820]
    assert [line["total_ms"] for line in a.server or []] == [680, 700, 780, 800]
    assert a.peak_mb == 950 and len(a.rounds) == 2
    assert "first audio p50 by round (ms): 1: 710, 2: 810" in headline(a)
    assert "client: first audio: B / A at p50 by round: 0.90x, 0.95x" in ratios({"A": a, "B": b})
    single = results(700, peak=900)
    assert pooled([single]) is single
    assert not any("by round" in line for line in headline(single))


def test_first_audio_by_turn_compares_the_late_turns_with_the_early_ones():
    from bench.voice.report import _first_audio_by_turn
    from bench.voice.turns import TurnSample

    def turn(index: int, ms: float) -> TurnSample:
        return TurnSample(call=0, phase="turn", index=index, question="q", first_audio_ms=ms)

    line = _first_audio_by_turn([turn(i, 100.0 * (i + 1)) for i in range(8)])

    assert line == (
        "first audio p50 by turn (ms): 1: 100, 2: 200, 3: 300, 4: 400, 5: 500, 6: 600, "
        "7: 700, 8: 800; turns 6-8 / 1-3 = 3.50x at p50"
    )
