"""One CLI process: start it in its own process group, feed it, read its lines, end it.

This layer knows nothing of HTTP or of the stream-json schema.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Mapping

from server.cli.line_framer import LineFramer
from server.errors import CliUnavailable
from server.parent_death import tied_to_parent

log = logging.getLogger(__name__)

_READ_SIZE = 64 * 1024
_STDERR_TAIL_BYTES = 4096
_HAS_PROC = os.path.isdir("/proc/self")
# How long a SIGKILLed process, and then the last of its pipes, may take before we stop waiting.
# A process in uninterruptible sleep can outlast SIGKILL; a slot must not wait on it forever.
_KILL_WAIT = 5.0
# How long after an exit stderr may stay open (held by something the process started) before
# `wait` returns without the rest of it.
_PIPE_WAIT = 0.5


def pid_running(pid: int) -> bool:
    """True while `pid` exists and has not exited: a zombie (exited, not yet reaped) is not.

    Without /proc, only whether the pid exists at all.
    """
    if not _HAS_PROC:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's stream protocol, plus an event set the moment the process exits.

    Python 3.11's `Process.wait()` returns only once every pipe has closed too, so a
    grandchild that left the process group while holding stdout or stderr would block it
    for as long as the grandchild lives. `exited` does not wait for pipes.
    """

    def __init__(self) -> None:
        super().__init__(limit=_READ_SIZE, loop=asyncio.get_running_loop())
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


class CliProcess:
    """A started CLI process with pipes on stdin, stdout and stderr."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        protocol: _Protocol,
        workdir: str,
        max_line_bytes: int,
    ):
        self._proc = proc
        self._protocol = protocol
        self._workdir = workdir
        self._max_line_bytes = max_line_bytes
        self._stderr_tail = bytearray()
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        self.started_at = asyncio.get_running_loop().time()

    @classmethod
    async def start(
        cls, argv: list[str], *, env: Mapping[str, str], max_line_bytes: int
    ) -> CliProcess:
        """Spawn `argv` in an empty scratch directory and a new process group.

        The process is killed by the kernel if this one dies (`tied_to_parent`). Cancelled
        while spawning, it leaves nothing behind: asyncio kills a process it had started, and
        the scratch directory is removed.
        """
        # Checked here: behind setpriv, a missing CLI would only show as setpriv's exit code.
        if shutil.which(argv[0], path=env.get("PATH", os.defpath)) is None:
            raise CliUnavailable(
                f"could not start the CLI {argv[0]!r}: not found or not executable"
            )
        workdir = tempfile.mkdtemp(prefix="cli-")
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.subprocess_exec(
                _Protocol,
                *tied_to_parent(argv),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=workdir,
                env=dict(env),
                start_new_session=True,
            )
        except OSError as e:
            shutil.rmtree(workdir, ignore_errors=True)
            raise CliUnavailable(f"could not start the CLI {argv[0]!r}: {e}") from e
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        proc = asyncio.subprocess.Process(transport, protocol, loop)
        return cls(proc, protocol, workdir, max_line_bytes)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    @property
    def workdir(self) -> str:
        """The scratch directory the process runs in; removed once it is closed."""
        return self._workdir

    def alive(self) -> bool:
        """True unless the process has exited, even if its exit was not yet reaped."""
        return self._proc.returncode is None and pid_running(self._proc.pid)

    @property
    def stderr_tail(self) -> str:
        """The last few KiB the process wrote to stderr."""
        return self._stderr_tail.decode("utf-8", errors="replace").strip()

    async def send(self, data: bytes, *, close: bool = True) -> None:
        """Write `data` to stdin and close it (unless not `close`: more messages will come); a
        process that already died is not an error here."""
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write(data)
            await stdin.drain()
            if close:
                stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            log.debug("pid %d closed its stdin early", self.pid)

    async def lines(self) -> AsyncIterator[str]:
        """Yield stdout lines as they complete; raises `LineTooLong` past the cap."""
        stdout = self._proc.stdout
        assert stdout is not None
        framer = LineFramer(self._max_line_bytes)
        while chunk := await stdout.read(_READ_SIZE):
            for line in framer.push(chunk):
                yield line
        for line in framer.flush():
            yield line

    async def wait(self) -> int:
        """Wait for the process to exit and return its exit code.

        Waits for the rest of stderr too (so `stderr_tail` has the last words), but not for
        longer than a short bound: something the process started may still hold the pipe.
        """
        await self._protocol.exited.wait()
        try:
            async with asyncio.timeout(_PIPE_WAIT):
                await asyncio.shield(self._stderr_task)
        except TimeoutError:
            pass
        code = self._proc.returncode
        assert code is not None
        return code

    def signal(self, sig: signal.Signals) -> None:
        """Send `sig` to the whole process group (the CLI and anything it started)."""
        try:
            os.killpg(self._proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    async def close(self, grace: float) -> None:
        """End the process group: SIGTERM, SIGKILL after `grace` seconds; reap; clean up.

        Every wait is bounded and every pipe is closed, so a process that left the group
        holding a pipe, or one that outlasts SIGKILL, cannot hold the caller for long.
        """
        try:
            self.signal(signal.SIGTERM)
            # Drop our ends of stdin and stdout at once: unread output must not keep the
            # writer blocked, and nothing more will be read.
            self._close_pipes(0, 1)
            try:
                async with asyncio.timeout(grace):
                    await self.wait()
            except TimeoutError:
                self.signal(signal.SIGKILL)
                try:
                    async with asyncio.timeout(_KILL_WAIT):
                        await self.wait()
                except TimeoutError:
                    log.error("CLI pid %d outlived SIGKILL for %g s", self.pid, _KILL_WAIT)
            # Leftover members of the group (none for the real CLI) go with the leader.
            self.signal(signal.SIGKILL)
            # A process that left the group may still hold stderr: stop reading it, so that
            # the transport (and its reaping) can finish.
            self._close_pipes(2)
            try:
                async with asyncio.timeout(_KILL_WAIT):
                    await self._stderr_task
                    await self._proc.wait()
            except TimeoutError:
                log.error("CLI pid %d was not reaped within %g s", self.pid, _KILL_WAIT)
        finally:
            self._stderr_task.cancel()
            shutil.rmtree(self._workdir, ignore_errors=True)

    def _close_pipes(self, *fds: int) -> None:
        # asyncio's Process has no public way to close its pipes without waiting.
        transport = self._proc._transport  # type: ignore[attr-defined]
        for fd in fds:
            pipe = transport.get_pipe_transport(fd)
            if pipe is not None:
                pipe.close()

    async def _drain_stderr(self) -> None:
        stderr = self._proc.stderr
        assert stderr is not None
        while chunk := await stderr.read(_READ_SIZE):
            self._stderr_tail += chunk
            del self._stderr_tail[:-_STDERR_TAIL_BYTES]
