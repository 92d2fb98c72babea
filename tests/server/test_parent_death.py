"""A child started through `tied_to_parent` is killed by the kernel when its parent dies."""

from __future__ import annotations

import shutil
import subprocess
import sys

from harness.process_table import wait_until_gone
from server.parent_death import tied_to_parent
from tests.conftest import missing_dependency

PARENT = """
import subprocess, sys, time
from server.parent_death import tied_to_parent
child = subprocess.Popen(tied_to_parent(["sleep", "60"]))
print(child.pid, flush=True)
time.sleep(60)
"""


def test_argv_goes_through_setpriv_unchanged():
    if shutil.which("setpriv") is None:
        missing_dependency("setpriv (util-linux) is not installed")
    argv = tied_to_parent(["claude", "-p", "--model=x"])
    assert argv[0].endswith("setpriv") and argv[1:] == [
        "--pdeathsig=KILL",
        "--",
        "claude",
        "-p",
        "--model=x",
    ]


def test_a_killed_parent_takes_its_child_with_it():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert wait_until_gone([child], within=0.2) == [child]  # alive while the parent is
        parent.kill()  # no cleanup of the parent's runs
        assert wait_until_gone([child], within=2.0) == []
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
