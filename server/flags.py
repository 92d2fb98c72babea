"""Command-line flags shared by every program in the project: argparse value types, and
environment variables that stand in for flags (flags win)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def at_least(minimum: int) -> Callable[[str], int]:
    """An integer of at least `minimum`."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "int"  # argparse names the type in its "invalid value" message
    return parse


positive_int = at_least(1)
non_negative_int = at_least(0)


def positive_float(text: str) -> float:
    """A number above 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """A number of 0 or more."""
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def between(low: float, high: float, kind: type = float) -> Callable[[str], Any]:
    """A number (`kind`, float or int) from `low` to `high`, both included."""

    def parse(text: str) -> Any:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low:g} to {high:g}, got {value:g}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its "invalid value" message
    return parse


def env_var(prefix: str, flag: str) -> str:
    """The variable for `flag`: `prefix` + the flag in upper snake case (`--max-x` -> `P_MAX_X`)."""
    return prefix + flag.lstrip("-").replace("-", "_").upper()


def truthy(text: str) -> bool:
    """An environment flag's value read as a boolean: 1, true, yes or on."""
    return text.strip().lower() in ("1", "true", "yes", "on")


def add_env_options(
    parser: argparse.ArgumentParser,
    options: Iterable[tuple[str, Any, str]],
    defaults: object,
    prefix: str,
) -> None:
    """Add `(flag, type or tuple of choices, help)` options, each help naming its variable.

    A flag's default is the attribute of `defaults` it names (`--max-x` -> `max_x`); a tuple
    default is written comma-separated, as the flag takes it.
    """
    for flag, kind, help_text in options:
        default = getattr(defaults, flag.lstrip("-").replace("-", "_"))
        if isinstance(default, tuple):
            default = ",".join(default)
        help_text = f"{help_text} [{env_var(prefix, flag)}]"
        if isinstance(kind, tuple):
            parser.add_argument(flag, choices=kind, default=default, help=help_text)
        else:
            parser.add_argument(flag, type=kind, default=default, help=help_text)


def argv_from_env(
    parser: argparse.ArgumentParser, environ: Mapping[str, str], prefix: str
) -> list[str]:
    """The flags that `environ` sets for `parser`, to put before the real command line.

    An empty variable (as `.env.example` leaves them) counts as unset.
    """
    argv: list[str] = []
    for action in parser._actions:
        flag = next((s for s in action.option_strings if s.startswith("--")), None)
        if flag is None or flag == "--help":
            continue
        value = environ.get(env_var(prefix, flag))
        if not value:
            continue
        if action.nargs == 0:
            argv += [flag] if truthy(value) else []
        else:
            argv.append(f"{flag}={value}")
    return argv
