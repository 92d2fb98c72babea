"""`python -m bench.drain` runs as a user would run it: one drain, timed stage by stage."""

from __future__ import annotations

import re

from tests.bench.bench_command import run_bench


def test_one_drain_is_timed_from_sigterm_to_exit():
    done = run_bench("drain", "-n", "1", timeout=300)

    assert done.returncode == 0, done.stderr
    stages = ("ready 503", "answer's end", "goodbye starts", "hung up", "process exit")
    times = []
    for stage in stages:
        found = re.search(
            rf"^to {stage}\s+SIGTERM mid-answer\s+1\s+0\s+1\s+([\d.]+)", done.stdout, re.M
        )
        assert found, done.stdout
        times.append(float(found.group(1)))
    assert times == sorted(times)  # each stage after the one before
