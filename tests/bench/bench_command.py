"""Run a benchmark program as a user would: `python -m bench.<program>` from the checkout."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def run_bench(
    program: str, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`python -m bench.<program> ARGS`, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", f"bench.{program}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
