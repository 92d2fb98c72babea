"""`python -m bench.apis` runs as a user would run it: three APIs side by side, then cancels."""

from __future__ import annotations

import re

from tests.bench.bench_command import run_bench


def test_it_times_the_three_apis_and_background_cancels():
    done = run_bench("apis", "-n", "2", "--cancels", "3", timeout=300)

    assert done.returncode == 0, done.stderr
    for path in ("chat completions", "messages", "responses"):
        assert re.search(rf"^first text\s+{path}\s+2\s+0\s+2\s", done.stdout, re.M), done.stdout
    for what in ("to its answer", "to CLI gone"):
        assert re.search(rf"^{what}\s+cancel\s+3\s+0\s+3\s", done.stdout, re.M), done.stdout
    assert re.search(r"^responses / chat completions first text p50: [\d.]+x$", done.stdout, re.M)
