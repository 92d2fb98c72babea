"""`python -m bench.call_store` runs as a user would run it and reports both stores."""

from __future__ import annotations

import re

from harness.postgres import PostgresMissing, postgres_bin
from tests.bench.bench_command import run_bench
from tests.conftest import missing_dependency


def test_it_times_turn_writes_on_sqlite_and_postgresql():
    try:
        postgres_bin()
    except PostgresMissing as e:
        missing_dependency(str(e))

    done = run_bench("call_store", "-n", "30", "--postgres", timeout=120)

    assert done.returncode == 0, done.stderr
    assert "bench.call_store: 30 turn writes per store (ms)" in done.stdout
    for store in ("sqlite", "postgresql"):
        assert re.search(rf"add_turn\s+{store}\s+30\s+0\s+30\s", done.stdout), done.stdout
