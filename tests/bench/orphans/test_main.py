"""`python -m bench.orphans` runs as a user would run it and reports its one figure."""

from __future__ import annotations

import importlib.util

from tests.bench.bench_command import run_bench
from tests.conftest import missing_dependency
from tests.voice.conftest import SPEECH_PACKAGES


def test_one_trial_times_a_killed_app_until_its_children_are_gone():
    if missing := [n for n in SPEECH_PACKAGES if importlib.util.find_spec(n) is None]:
        missing_dependency(f"bench.orphans starts the voice app, which needs {missing}")
    done = run_bench("orphans", "-n", "1", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "trial 1/1: " in done.stdout
    assert "killed -> all gone  voice app   1       0  1" in done.stdout
