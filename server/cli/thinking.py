"""How much a CLI process thinks before it answers, set through its environment at spawn.

The Claude Code CLI (2.1.197) reads `MAX_THINKING_TOKENS` (`0` turns thinking off; any other
value is the budget a model with fixed budgets, such as haiku, is asked for) and
`CLAUDE_CODE_EFFORT_LEVEL` (what a model with adaptive thinking, such as sonnet, is asked for:
its `--max-thinking-tokens` flag and the budget have no effect there). Measured against the
fake Anthropic API: with neither set, sonnet asks for `thinking: adaptive` at effort high and
haiku for a 31999-token budget; with `MAX_THINKING_TOKENS=0` both ask for `thinking: disabled`.
"""

from __future__ import annotations

from dataclasses import dataclass

# OpenAI's `reasoning_effort` values, least first.
EFFORTS = ("none", "minimal", "low", "medium", "high")
_BUDGETS = {"minimal": 1024, "low": 4096, "medium": 10000, "high": 31999}
_LEVELS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high"}


@dataclass(frozen=True, slots=True)
class Thinking:
    """A process's thinking: a token budget (0 = none) and an effort level; None leaves the
    CLI's own default."""

    budget: int | None = None
    level: str | None = None

    def env(self) -> dict[str, str]:
        """The environment variables that ask the CLI for this thinking."""
        env = {}
        if self.budget is not None:
            env["MAX_THINKING_TOKENS"] = str(self.budget)
        if self.level is not None:
            env["CLAUDE_CODE_EFFORT_LEVEL"] = self.level
        return env

    @property
    def preset(self) -> bool:
        """Whether this is the CLI's default or one of the efforts (the few worth keeping
        warm processes for); an arbitrary budget is not."""
        return self == CLI_DEFAULT or self in _PRESETS.values()

    def __str__(self) -> str:
        name = next((e for e, t in _PRESETS.items() if t == self), None)
        if name is not None:
            return f"effort {name}"
        return "default thinking" if self == CLI_DEFAULT else f"thinking budget {self.budget}"


CLI_DEFAULT = Thinking()
_PRESETS = {"none": Thinking(budget=0), **{e: Thinking(_BUDGETS[e], _LEVELS[e]) for e in _BUDGETS}}


def from_effort(effort: str | None) -> Thinking:
    """The thinking for an OpenAI `reasoning_effort` (one of `EFFORTS`; None: the CLI's own)."""
    return CLI_DEFAULT if effort is None else _PRESETS[effort]


def from_budget(budget: int) -> Thinking:
    """The thinking for an Anthropic `thinking.budget_tokens` (0 = none)."""
    return Thinking(budget=budget)
