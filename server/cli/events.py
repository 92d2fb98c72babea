"""Typed events parsed from the CLI's stream-json output, one per line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the main answer's text, as the CLI streamed it."""

    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """A piece of the model's thinking before (or between) its answer's text."""

    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts from the CLI's final `result` line."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0  # of the prompt's, read from the CLI's cache, not evaluated again

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Result:
    """The CLI's closing `result` line: the whole answer or an error."""

    text: str
    is_error: bool
    usage: Usage | None
    api_error_status: int | None = None


@dataclass(frozen=True, slots=True)
class ApiRetry:
    """The CLI is retrying a failed upstream call (it does so for minutes on a 401)."""

    attempt: int
    status: int | None
    error: str


@dataclass(frozen=True, slots=True)
class PlainText:
    """A stdout line that is not JSON; a non-streaming answer falls back to these."""

    text: str


Event = TextDelta | ThinkingDelta | Result | ApiRetry | PlainText
