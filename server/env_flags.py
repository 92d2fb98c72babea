"""Command-line flags that environment variables can stand in for (flags win)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from typing import Any


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
