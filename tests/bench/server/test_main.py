"""`python -m bench.server` run as a user would, with the real Claude Code CLI; speed unchecked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from server.cli.process import pid_running
from tests.bench.bench_command import run_bench

PATHS = ("direct", "cold", "warm")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def bench(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return run_bench("server", *args, timeout=timeout)


def test_help_explains_every_option():
    done = bench("--help", timeout=60)
    assert done.returncode == 0
    for option in (
        "--backend",
        "--requests",
        "--concurrency",
        "--paths",
        "--cancel-trials",
        "--token-delay-ms",
        "--answer-words",
        "--json",
        "--plot",
        "--url",
        "--api-key",
    ):
        assert option in done.stdout


def test_smoke_run_measures_every_path_and_writes_json_and_png(claude_cli: Path, tmp_path: Path):
    record_path, plot_path = tmp_path / "server.json", tmp_path / "server.png"
    done = bench(
        *("-n", "2", "--cancel-trials", "2", "--refill", "0.5", "--cli", str(claude_cli)),
        *("--json", str(record_path), "--plot", str(plot_path)),
    )
    assert done.returncode == 0, done.stdout + done.stderr

    record = json.loads(record_path.read_text())
    samples = record["samples"]
    for path in PATHS:
        for phase in ("latency", "cancel"):
            mine = [s for s in samples if s["path"] == path and s["phase"] == phase]
            assert len(mine) == 2, (path, phase)
            assert all(s["ok"] and s["error"] is None for s in mine), mine
        latency = [s for s in samples if s["path"] == path and s["phase"] == "latency"]
        assert all(s["ttfc_ms"] > 0 and s["total_ms"] >= s["ttfc_ms"] for s in latency)
        assert all(s["chunks"] >= 1 for s in latency)
        cancels = [s for s in samples if s["path"] == path and s["phase"] == "cancel"]
        assert all(s["cancel_ms"] >= 0 for s in cancels)
    assert {s["label"] for s in record["summary"]} == set(PATHS)
    assert all(s["failed"] == 0 for s in record["summary"])
    assert record["cli_version"].startswith("2.1.197")
    assert record["config"]["requests"] == 2
    assert record["machine"]["cpu_count"] >= 1

    # The table reached the terminal, and no CLI the bench saw outlived it.
    assert "server-added TTFC" in done.stdout
    assert not [s["pid"] for s in samples if s["pid"] and pid_running(s["pid"])]

    assert plot_path.read_bytes().startswith(PNG_MAGIC)


def test_fake_backend_run_measures_every_path(tmp_path: Path):
    record_path = tmp_path / "server.json"
    done = bench(
        *("--backend", "fake", "-n", "2", "--cancel-trials", "1", "--warmup", "0"),
        *("--refill", "0.2", "--json", str(record_path)),
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    record = json.loads(record_path.read_text())
    assert record["config"]["backend"] == "fake"
    assert record["config"]["backend_reason"] == "--backend fake"
    assert {s["path"] for s in record["samples"]} == set(PATHS)
    assert all(s["ok"] for s in record["samples"]), record["samples"]
    assert "the fake backend (--backend fake)" in done.stderr


def test_auto_says_which_backend_it_chose_and_why(tmp_path: Path):
    missing = tmp_path / "no-such-claude"
    done = bench("--cli", str(missing), "-n", "1", timeout=60)

    assert done.returncode == 2
    assert f"the claude backend (--backend auto: --cli {missing})" in done.stderr
    assert "was not found" in done.stderr
