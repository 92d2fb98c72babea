"""Children that die with their parent, however the parent dies.

Every process the project starts goes through `tied_to_parent`: util-linux's `setpriv
--pdeathsig=KILL` sets PR_SET_PDEATHSIG in the child and then execs the command (same pid), so
the kernel SIGKILLs the child the moment its parent dies, by SIGKILL or the OOM killer as much
as by a clean exit, with no cleanup code of the parent's having to run. `preexec_fn` could do
the same, but it is unsafe in a process with threads, as the voice app is.

The signal follows the thread that forked, not the process: spawn from a thread that lives as
long as the parent does (the event loop's, as everything here does).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence

log = logging.getLogger(__name__)

_SETPRIV = shutil.which("setpriv")
_warned = False


def tied_to_parent(argv: Sequence[str]) -> list[str]:
    """`argv` run so that the process is killed when the process starting it dies.

    Without `setpriv` (not Linux, or no util-linux) it is `argv` unchanged, said once.
    """
    global _warned
    if _SETPRIV is None:
        if not _warned:
            _warned = True
            log.warning("setpriv not found: child processes will outlive a killed parent")
        return list(argv)
    return [_SETPRIV, "--pdeathsig=KILL", "--", *argv]
