"""One session: answer each stdin user message in turn, keeping the conversation so far."""

from __future__ import annotations

import time

from server.local_cli.conversation import chat_messages, prompt_turns, read_user_message
from server.local_cli.model import LocalModel
from server.local_cli.output import StreamJsonWriter
from server.local_cli.trace import TokenTrace
from server.prompt import Turn


class Session:
    """Like the real CLI, later messages on the same stdin continue the same conversation."""

    def __init__(
        self,
        model: LocalModel,
        writer: StreamJsonWriter,
        trace: TokenTrace,
        *,
        instruction: str,
        max_tokens: int,
    ):
        self._model = model
        self._writer = writer
        self._trace = trace
        self._instruction = instruction
        self._max_tokens = max_tokens
        self._turns: list[Turn] = []
        self._opening_due = False

    def receive(self, line: bytes) -> None:
        """Answer one stdin line, printing its output lines, or, when it asks to be read
        ahead, read its turns into the model's cache and the conversation and print nothing
        (the next message continues from them), or, when it asks for the cache only, read
        them into the cache and print nothing (the next message continues from the
        conversation as it was, and llama.cpp reuses what it shares with them). Raises
        `LocalCliError` on failure."""
        message = read_user_message(line)
        self._opening_due = False  # this message's prompt holds the opening
        kept = self._turns
        if message.replaces_answer and kept and kept[-1].role == "assistant":
            kept = kept[:-1]
        turns = kept + prompt_turns(message.prompt)
        if message.cache_only:
            self._trace.cached(self._model.read(chat_messages(turns, self._instruction)))
        elif message.read_ahead:
            messages = chat_messages(turns, self._instruction)
            self._trace.read(self._model.read_to_next_question(messages))
            self._turns = turns
        else:
            self._answer(turns)

    def _answer(self, turns: list[Turn]) -> None:
        started = time.monotonic()
        first_text_at: float | None = None

        def on_text(text: str) -> None:
            nonlocal first_text_at
            if first_text_at is None:
                first_text_at = time.monotonic()
            self._trace.token()
            self._writer.text_delta(text)

        self._writer.message_start()
        answer = self._model.chat(
            chat_messages(turns, self._instruction), max_tokens=self._max_tokens, on_text=on_text
        )
        self._writer.message_end(answer)
        self._writer.result(
            answer,
            duration_ms=_ms(time.monotonic() - started),
            ttft_ms=None if first_text_at is None else _ms(first_text_at - started),
        )
        self._trace.done()
        self._turns = [*turns, Turn("assistant", answer.text)]
        self._opening_due = True

    def read_next_opening(self) -> None:
        """After an answer, read its end and the next user turn's opening into the cache: 5
        of the 18 or so tokens the next question's prompt would otherwise have to read.
        Does nothing unless an answer was given since the last call."""
        if self._opening_due:
            self._opening_due = False
            messages = chat_messages(self._turns, self._instruction)
            self._trace.opening(self._model.read_to_next_question(messages))


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
