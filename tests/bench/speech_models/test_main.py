"""`python -m bench.speech_models`: a real run times every row on both paths."""

from __future__ import annotations

import re

from tests.bench.bench_command import run_bench


def row(stdout: str, metric: str, path: str) -> re.Match[str] | None:
    """The table row of `metric` on `path`: its ok and failed counts and its p50."""
    return re.search(rf"^{metric}\s+{path}\s+(\d+)\s+(\d+)\s+\d+\s+([\d.]+)", stdout, re.M)


def test_one_round_times_loads_stt_and_tts_on_both_paths():
    done = run_bench("speech_models", "--runs", "1", "--load-runs", "1")

    assert done.returncode == 0, done.stderr
    expected = [("whisper_load_ms", "direct", 1), ("piper_load_ms", "direct", 1)]
    for path in ("direct", "service"):
        expected += [("stt_latency_ms", path, 3), ("tts_first_audio_ms", path, 2)]
    for metric, path, count in expected:
        found = row(done.stdout, metric, path)
        assert found, f"no {metric} {path} row in:\n{done.stdout}"
        assert (int(found.group(1)), int(found.group(2))) == (count, 0)
        assert float(found.group(3)) > 0
    assert re.search(r"^tts_first_audio_ms: service / direct = [\d.]+$", done.stdout, re.M)
