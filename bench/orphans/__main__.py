"""How soon everything a hard-killed voice app started is gone.

    python -m bench.orphans [-n 5]

Each trial starts `python -m voice` with the fake CLI (so the bundled server keeps two warm
CLI processes), SIGKILLs the app (no cleanup of its own can run) and times, polling every
millisecond, until the bundled server and its CLIs have all exited. Prints p50/p90/max.
Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.stats import format_table, summarize
from harness import fake_cli
from harness.process_table import children
from harness.voice_app import start_voice_app
from server.cli.process import pid_running
from server.flags import positive_int

WARM_CLIS = 2  # the bundled server's default --warm


def gone_after(pids: list[int]) -> float:
    """Milliseconds until every pid has exited, polled every millisecond."""
    start = time.monotonic()
    while any(map(pid_running, pids)):
        time.sleep(0.001)
    return (time.monotonic() - start) * 1000


def trial(workdir: Path, cli: str) -> float:
    """One app started, SIGKILLed, and its descendants timed until they are gone."""
    app = start_voice_app(workdir, env={"VOICE_LLM_CLI": cli})
    server = app.server_pid()
    deadline = time.monotonic() + 60
    while len(clis := children(server)) < WARM_CLIS and time.monotonic() < deadline:
        time.sleep(0.05)
    app.process.kill()
    elapsed = gone_after([server, *clis])
    app.process.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.orphans", description=__doc__)
    parser.add_argument("-n", type=positive_int, default=5, help="trials (default %(default)s)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-orphans-"))
    cli = fake_cli.install(workdir)
    times = []
    for i in range(args.n):
        times.append(trial(workdir, cli))
        print(f"trial {i + 1}/{args.n}: {times[-1]:.1f} ms", flush=True)
    summary = summarize("voice app", "killed -> all gone", times, ok=len(times), failed=0)
    print(format_table([summary]))
    print("(ms: the app's SIGKILL until its server and warm CLIs have exited)")


if __name__ == "__main__":
    main()
