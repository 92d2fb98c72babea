"""Wait until a process's children stop using the CPU (a warm pool's refills have started).

Read from /proc: each child's user + system time, sampled over a short window.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from harness.process_table import children

_TICKS = os.sysconf("SC_CLK_TCK")
_WINDOW = 0.2  # seconds per sample: 20 clock ticks at the usual 100 Hz
_BUSY = 0.1  # a child using more than this share of one core is still starting


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time `pid` has used so far (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


async def children_quiet(pid: int, *, within: float) -> bool:
    """Wait until no child of `pid` is busy over one sampling window; False after `within` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        pids = children(pid)
        before = {child: cpu_seconds(child) for child in pids}
        await asyncio.sleep(_WINDOW)
        if all(cpu_seconds(child) - used < _BUSY * _WINDOW for child, used in before.items()):
            return True
    return False
