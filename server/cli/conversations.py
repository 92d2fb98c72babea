"""Local CLI processes kept between the turns of a conversation, so its cache carries over.

A chat client re-sends the whole history every turn. A fresh process must then read all of
it, and the local model's first token grows with every turn. The local CLI keeps its
conversation across stdin messages, like the real CLI, and llama.cpp keeps the tokens it has
read. So a process that has answered stays parked: the history it holds (the request's turns
and its own answer) is the key. The next request whose turns start with that history (the
answer as the client kept it, compared without whitespace) gets that process and is sent
only the turns after it. The model then reads only those turns.

A client may keep another last answer than the process gave, or none: a caller who barged in
heard only part of it, or nothing of it when the caller talked over its first sentence. The
process is taken all the same and sent the turns from that answer on, to replace its own;
llama.cpp still reuses every token up to where the two differ.

A parked process holds no request slot, only memory. At most `capacity` are kept: the
oldest goes when another is parked. Each is ended after `idle_secs` without a next turn.
A request that ends any other way (an error, or the client hanging up, as a caller barging
in does) ends its process as before. Its conversation then goes on in a fresh process: a warm
one, when one more than a new request needs is idle, is sent the request's turns up to its
last answer to read ahead (not to answer) and parked with them, so the next turn, whatever
the client kept of the cut answer (or of a question it asked again whole), reads only the
turns after that answer. The turns after it and the cut answer as far as it was relayed are
read into its cache, not its conversation: the next turn reuses them up to where it differs
(after a barge-in, up to the end of what the caller heard; when the question comes again
whole, up to where it goes on). With no spare warm process, or no answer and nothing cut, the
next turn starts over in a fresh one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from server.cli.command import ProcessSpec
from server.cli.process import CliProcess
from server.prompt import Turn


@dataclass(frozen=True)
class Taken:
    """A parked process taken for a request: the turns to send it, and whether they replace
    the last answer it gave."""

    proc: CliProcess
    turns: list[Turn]
    replaces_answer: bool


@dataclass
class _Parked:
    spec: ProcessSpec
    proc: CliProcess
    history: list[Turn]
    timer: asyncio.TimerHandle | None = None


class Conversations:
    """Parked processes by the conversation they hold; `end` stops one that is let go."""

    def __init__(self, capacity: int, idle_secs: float, end: Callable[[CliProcess], object]):
        self.capacity = capacity
        self._idle_secs = idle_secs
        self._end = end
        self._parked: list[_Parked] = []  # oldest first

    @property
    def pids(self) -> list[int]:
        """The parked processes' pids."""
        return [p.proc.pid for p in self._parked]

    def take(self, spec: ProcessSpec, turns: list[Turn]) -> Taken | None:
        """The parked process holding the longest start of `turns`, and what to send it; None
        when no live one does. `turns` may go on from another last answer than the one the
        process gave (a client keeps only what a caller heard of it): they then replace it."""
        best: tuple[_Parked, bool] | None = None
        for parked in list(self._parked):
            match = _continues(turns, parked.history)
            if match is None:
                continue
            if not parked.proc.alive():
                self._let_go(parked)
            elif best is None or len(parked.history) > len(best[0].history):
                best = (parked, not match)
        if best is None or best[0].spec != spec:
            return None
        parked, replaces_answer = best
        self._parked.remove(parked)
        if parked.timer:
            parked.timer.cancel()
        kept = len(parked.history) - 1 if replaces_answer else len(parked.history)
        return Taken(parked.proc, turns[kept:], replaces_answer)

    def park(self, spec: ProcessSpec, proc: CliProcess, history: list[Turn]) -> bool:
        """Keep `proc`, which holds `history`, for its next turn; False when none are kept."""
        if not self.capacity or not proc.alive():
            return False
        while len(self._parked) >= self.capacity:
            self._let_go(self._parked[0])
        parked = _Parked(spec, proc, history)
        parked.timer = asyncio.get_running_loop().call_later(self._idle_secs, self._expire, parked)
        self._parked.append(parked)
        return True

    def close(self) -> None:
        """Let every parked process go."""
        for parked in list(self._parked):
            self._let_go(parked)

    def _expire(self, parked: _Parked) -> None:
        if parked in self._parked:
            self._let_go(parked)

    def _let_go(self, parked: _Parked) -> None:
        if parked.timer:
            parked.timer.cancel()
        self._parked.remove(parked)
        self._end(parked.proc)


def _continues(turns: list[Turn], history: list[Turn]) -> bool | None:
    """True when `turns` are `history` and then more, ending with the user's; False when they
    are its start with another last answer or none, then more ending with the user's; None
    when they are another conversation. No history (a process that holds only what it read
    into its cache) is the start of every conversation."""
    if not history:
        return True if turns and turns[-1].role == "user" else None
    *before, answer = history
    if len(turns) <= len(before) or turns[: len(before)] != before:
        return None
    if turns[-1].role != "user":
        return None
    said = turns[len(before)]
    # A voice client keeps what the caller heard of an answer: nothing, when the caller
    # talked over its first sentence (Pipecat writes the spoken text sentence by sentence).
    if said.role != "assistant":
        return False
    return _squeezed(said.text) == _squeezed(answer.text)


def _squeezed(text: str) -> str:
    return "".join(text.split())
