"""The resident memory of a process and everything it started, at its highest while a block
runs: sampled from /proc every 0.2 s on a thread of its own."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

_EVERY = 0.2


class PeakMemory:
    """`with PeakMemory(pid) as peak:` ... `peak.mb` is the highest total seen."""

    def __init__(self, pid: int):
        self._pid = pid
        self.mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            self.mb = max(self.mb, tree_rss_mb(self._pid))
            if self._stop.wait(_EVERY):
                return


def tree_rss_mb(root: int) -> float:
    """The resident memory of `root` and all its descendants, in MB (0 once it is gone)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            statm = (entry / "statm").read_text()
        except OSError:
            continue  # it ended while we looked
        pid, parent = int(entry.name), int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(pid)
        rss[pid] = int(statm.split()[1]) * page
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total / 1_000_000
