"""Every CLI process the server runs, handed out one lease at a time.

`lease(model, turns)` is the only way a request gets a process: it takes a slot (or raises
`Busy`), takes the process already holding the conversation (`conversations`, local CLI
only), a warm one, or spawns one, and when the request is over ends that process (or, when
it answered, parks it for the conversation's next turn), frees the slot once it is reaped and
refills the warm pool. So there are never more than `max_concurrency` busy processes plus the
warm and parked ones, and no route handles any of this itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from server.cli.answer import Deadlines
from server.cli.command import LOCAL, ProcessSpec, process_spec, stdin_message
from server.cli.conversations import Conversations
from server.cli.process import CliProcess
from server.cli.slots import Slots
from server.cli.supervisor import CliSupervisor
from server.cli.thinking import Thinking
from server.cli.warm_pool import WarmPools
from server.prompt import Turn, flatten
from server.settings import Settings

DEFAULT_CONVERSATIONS = 8
# At most this much of a cut answer is read into a spare's cache: about 100 tokens, half a
# second of reading on 2 cores, past what a caller hears before barging in. A long answer cut
# late would otherwise have the spare read for seconds, beside the next request.
CUT_READ_CHARS = 400

log = logging.getLogger(__name__)


@dataclass
class Lease:
    """A request's process, the turns to send it, and what to call once it has answered."""

    proc: CliProcess
    turns: list[Turn]
    continued: bool  # the process already holds the conversation's earlier turns
    replaces_answer: bool = False  # `turns` replace the last answer the process gave
    # Call with the whole answer once the process has given it and nothing more will be read
    # from it: a process that can continue the conversation is parked then, before the client
    # hears the end of the answer, so its next turn (sent at once) finds it.
    answered: Callable[[str], None] = lambda answer: None
    # The answer's text as far as it was relayed: what a spare reads ahead when it is cut off.
    relayed: list[str] = field(default_factory=list)


class CliProcesses:
    """The supervisor, the request slots and the warm pools of one server, behind `lease`."""

    def __init__(self, settings: Settings):
        self._cli = settings.cli
        self.deadlines = Deadlines(settings.first_token_timeout, settings.stall_timeout)
        self._thinking = settings.thinking
        self.supervisor = CliSupervisor(
            cli=settings.cli,
            env=settings.cli_env,
            max_line_bytes=settings.max_line_bytes,
            kill_grace=settings.kill_grace,
        )
        self.slots = Slots(settings.max_concurrency, settings.queue_timeout)
        self.warm = WarmPools(
            self.supervisor,
            size=settings.warm,
            max_age=settings.warm_max_age,
            preload=(process_spec(settings.cli, settings.default_model, settings.thinking),),
        )
        # By default only the local CLI: it continues a conversation across stdin messages, and
        # reads one ahead without answering, as this expects (a test may say so for a wrapper
        # around it).
        kept = settings.conversations
        if kept is None:
            kept = DEFAULT_CONVERSATIONS if settings.cli == LOCAL else 0
        self.conversations = Conversations(
            kept, settings.conversation_idle, end=self.supervisor.release
        )
        self._reading_ahead: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Start filling the default model's warm pool."""
        self.warm.start()

    @property
    def keeps_conversations(self) -> bool:
        """Whether an answered process is kept for its conversation's next turn."""
        return self.conversations.capacity > 0

    @asynccontextmanager
    async def lease(
        self, model: str, turns: list[Turn] | None = None, thinking: Thinking | None = None
    ) -> AsyncIterator[Lease]:
        """A process for `model` to answer `turns`, thinking as asked (None: the server's
        default), for the length of the `async with` block (without `turns`, a fresh process
        that is never kept).

        Raises `Busy` when no slot comes free within the queue timeout and `CliUnavailable`
        when no process can be started; either way nothing is left held. When
        `lease.answered` is called, a process that can continue the conversation is parked for
        its next turn. Otherwise, on leaving the block (done, an error, or cancellation when
        the client hangs up), the process gets SIGTERM at once and is reaped in the
        background; its slot comes free, and its pool refills, once it is: nothing competes
        with the dying process for the CPU, and the caller does not wait.
        """
        spec = process_spec(self._cli, model, thinking or self._thinking)
        await self.slots.acquire()
        try:
            kept = self.conversations.take(spec, turns) if turns else None
            if kept is not None:
                lease = Lease(kept.proc, kept.turns, True, kept.replaces_answer)
            else:
                lease = Lease(await self.warm.acquire(spec), turns or [], continued=False)
        except BaseException:
            self.slots.release()
            raise

        def reaped(_: asyncio.Task[None]) -> None:
            self.slots.release()
            self.warm.request_ended(spec)

        parked = False

        def answered(answer: str) -> None:
            nonlocal parked
            if parked or not turns:
                return
            history = [*turns, Turn("assistant", answer)]
            parked = self.conversations.park(spec, lease.proc, history)
            if parked:
                self.slots.release()
                self.warm.request_ended(spec)

        lease.answered = answered
        try:
            yield lease
        finally:
            if not parked:
                self.supervisor.release(lease.proc).add_done_callback(reaped)
                if turns and self.keeps_conversations:
                    self._read_ahead(spec, turns, "".join(lease.relayed))

    def _read_ahead(self, spec: ProcessSpec, turns: list[Turn], cut: str) -> None:
        """Have a spare warm process read `turns` up to their last answer (a conversation
        whose process was just ended unparked, as when the client hung up mid-answer or
        withdrew a question asked early) and park it with them; then, into its cache only,
        the turns after that answer and `cut`, the new answer as far as it was relayed (its
        first `CUT_READ_CHARS`).

        The conversation goes no further than the last answer: the next turn may ask its
        question again otherwise (whole, after an early answer to its first half was
        withdrawn), or keep less of the cut answer than was relayed (what a caller heard
        before barging in). Either way llama.cpp reuses the cached tokens up to where the
        next prompt differs from them: after a barge-in the next prompt reads only the turns
        after what the caller heard, not the question and the answer too. A warm process has
        read the system prompt already, so with no answer and nothing cut, it is not worth
        one."""
        answered = [i for i, turn in enumerate(turns) if turn.role == "assistant"]
        kept = answered[-1] + 1 if answered else 0
        cut = cut[:CUT_READ_CHARS]
        after = [*turns[kept:], Turn("assistant", cut)] if cut.strip() else []
        turns = turns[:kept]
        if not turns and not after:
            return
        # Only a spare: the read-ahead may go unused (a call that hung up mid-answer), and a
        # new call must still find a warm process. Measured back to back, new sessions every
        # ~8 s each hung up mid-answer (bench.voice's barge-in trials): taking the last idle
        # one made the next session's reply 110 ms slower (967 against 857-861 ms p50).
        proc = self.warm.take_spare(spec)  # refilled as the ended process is reaped
        if proc is None:
            return

        async def read() -> None:
            try:
                if turns:
                    await proc.send(stdin_message(flatten(turns), read_ahead=True), close=False)
                if after:
                    await proc.send(stdin_message(flatten(after), cache_only=True), close=False)
                if self.conversations.park(spec, proc, turns):
                    return
            except asyncio.CancelledError:
                self.supervisor.release(proc)
                raise
            except Exception:
                log.exception("pid %d could not read the conversation ahead", proc.pid)
            self.supervisor.release(proc)

        task = asyncio.create_task(read(), name=f"read-ahead-{proc.pid}")
        self._reading_ahead.add(task)
        task.add_done_callback(self._reading_ahead.discard)

    async def _stop_reading_ahead(self) -> None:
        for task in list(self._reading_ahead):
            task.cancel()
        await asyncio.gather(*self._reading_ahead, return_exceptions=True)

    def health(self) -> dict[str, Any]:
        """Processes (live, spawned, serving pids), slots and per-model warm pool counters."""
        idle_or_ending = (
            self.warm.idle_pids() | set(self.supervisor.ending_pids) | set(self.conversations.pids)
        )
        return {
            "processes": {
                "live": self.supervisor.live,
                "spawned": self.supervisor.spawned,
                "serving_pids": sorted(set(self.supervisor.live_pids) - idle_or_ending),
            },
            "slots": {"in_use": self.slots.in_use, "limit": self.slots.limit},
            "warm": self.warm.stats(),
            "conversations": {
                "kept": len(self.conversations.pids),
                "limit": self.conversations.capacity,
            },
        }

    async def drain(self) -> None:
        """Start no more processes and keep none for later; return once the requests being
        answered have finished (bound it with `asyncio.timeout`)."""
        await self._stop_reading_ahead()
        self.conversations.close()
        await self.warm.aclose()
        await self.slots.none_in_use.wait()

    async def aclose(self) -> None:
        """Stop refilling, end every process, warm, parked or busy, and wait until all are
        reaped."""
        await self._stop_reading_ahead()
        self.conversations.close()
        await self.warm.aclose()
        await self.supervisor.aclose()
