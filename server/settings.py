"""The server's settings: built once from flags, then environment variables, then defaults."""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from server.cli.command import AUTO, CLAUDE_MODELS, choose_cli
from server.cli.thinking import EFFORTS, Thinking, from_effort
from server.flags import (
    add_env_options,
    argv_from_env,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from server.flags import env_var as flags_env_var

ENV_PREFIX = "SERVER_"


@dataclass(frozen=True)
class Settings:
    """Everything the app needs; nothing below `__main__` reads the environment."""

    host: str = "127.0.0.1"
    port: int = 8000
    cli: str = "claude"
    cli_reason: str = "default"
    api_key: str | None = None
    allow_unauthenticated: bool = False
    models: tuple[str, ...] = CLAUDE_MODELS
    default_model: str = "sonnet"
    first_token_timeout: float = 30.0
    stall_timeout: float = 30.0
    max_concurrency: int = 4
    queue_timeout: float = 5.0
    max_body_bytes: int = 8 * 1024 * 1024
    max_line_bytes: int = 4 * 1024 * 1024
    kill_grace: float = 0.05
    warm: int = 2
    warm_max_age: float = 600.0
    conversations: int | None = None  # None: DEFAULT_CONVERSATIONS with the local CLI, else 0
    conversation_idle: float = 120.0
    drain_timeout: float = 30.0
    db: str = "server-responses.db"
    store_ttl: float = 30 * 24 * 3600.0
    reasoning_effort: str = "default"  # one of EFFORTS, for a request that does not say

    @property
    def thinking(self) -> Thinking:
        """The thinking a request that does not ask for any gets."""
        return from_effort(None if self.reasoning_effort == "default" else self.reasoning_effort)

    log_level: str = "info"
    cli_env: Mapping[str, str] = field(default_factory=dict)


def _model_list(text: str) -> tuple[str, ...]:
    models = tuple(m.strip() for m in text.split(",") if m.strip())
    if not models:
        raise argparse.ArgumentTypeError("needs at least one model name")
    return models


# (flag, type, help); the environment variable is SERVER_ + the flag in upper snake case.
_OPTIONS: list[tuple[str, object, str]] = [
    ("--host", str, "interface to bind (default %(default)s)"),
    ("--port", int, "port to listen on (default %(default)s)"),
    (
        "--cli",
        str,
        "what answers: 'claude' (or a path to that CLI), 'local' for the bundled local model, "
        "or 'auto': claude when it is on PATH, else local (default %(default)s)",
    ),
    ("--api-key", str, "require 'Authorization: Bearer KEY' on every /v1 route"),
    (
        "--models",
        _model_list,
        "comma-separated model names clients may ask for, each passed to the CLI as --model "
        "(default haiku,sonnet,opus; with the local CLI local,haiku,sonnet,opus, all the one "
        "local model)",
    ),
    (
        "--default-model",
        str,
        "model used when a request names none (default sonnet; local with the local CLI)",
    ),
    (
        "--first-token-timeout",
        positive_float,
        "seconds the CLI may take to give its first "
        "text before it is killed and the client gets an error (default %(default)s)",
    ),
    (
        "--stall-timeout",
        positive_float,
        "seconds the CLI may go without text once it has started answering before it is "
        "killed and the client gets an error (default %(default)s)",
    ),
    ("--max-concurrency", positive_int, "CLI processes answering at once (default %(default)s)"),
    (
        "--queue-timeout",
        positive_float,
        "seconds a request over the concurrency cap waits "
        "for a slot before a 429 (default %(default)s)",
    ),
    ("--max-body-bytes", positive_int, "largest request body accepted (default %(default)s)"),
    ("--max-line-bytes", positive_int, "longest CLI output line accepted (default %(default)s)"),
    (
        "--kill-grace",
        positive_float,
        "seconds between SIGTERM and SIGKILL when a CLI is ended (default %(default)s)",
    ),
    (
        "--warm",
        non_negative_int,
        "CLI processes per model kept started and waiting on stdin, "
        "each used for one request; 0 spawns every process on demand (default %(default)s)",
    ),
    (
        "--warm-max-age",
        positive_float,
        "seconds after which an idle warm process is replaced (default %(default)s)",
    ),
    (
        "--conversations",
        non_negative_int,
        "with the local CLI: conversations whose process is kept between turns, so the "
        "model's cache of the conversation carries over and the next turn reads only what is "
        "new; 0 ends every process after its answer, as with the other CLIs (default: 8 with "
        "the local CLI, else 0: the real CLI's continuation is its own)",
    ),
    (
        "--conversation-idle",
        positive_float,
        "seconds a kept conversation's process waits for the next turn before it is ended "
        "(default %(default)s)",
    ),
    (
        "--drain-timeout",
        non_negative_float,
        "on SIGTERM, seconds the answers in flight get to finish (no new connections are "
        "taken; background responses are cancelled and stored) before every CLI is ended; "
        "0 ends them at once (default %(default)s)",
    ),
    (
        "--db",
        str,
        "where /v1/responses are stored: an SQLite file, created on first use, or a "
        "postgresql:// URL shared by several servers (default %(default)s)",
    ),
    (
        "--store-ttl",
        positive_float,
        "seconds a stored response is kept (default %(default)s: 30 days)",
    ),
    (
        "--reasoning-effort",
        ("default", *EFFORTS),
        "how much the CLI thinks before answering when a request does not say (its "
        "reasoning_effort, thinking or reasoning.effort): none answers at once, minimal to "
        "high give it more room; default leaves the CLI's own (default %(default)s)",
    ),
    ("--log-level", str, "debug, info, warning or error (default %(default)s)"),
]


def env_var(flag: str) -> str:
    """The environment variable that stands in for `flag`."""
    return flags_env_var(ENV_PREFIX, flag)


def build_parser() -> argparse.ArgumentParser:
    """The `python -m server` argument parser, every flag with its environment variable."""
    defaults = replace(Settings(), cli=AUTO, models=None, default_model=None)
    parser = argparse.ArgumentParser(
        prog="python -m server",
        description="A streaming completions server (OpenAI's /v1/chat/completions and "
        "/v1/responses, with background runs, and Anthropic's /v1/messages) that answers "
        "through a coding-agent CLI (the Claude Code CLI), one process per request. Every "
        "flag can also be set by the environment variable shown in brackets.",
    )
    add_env_options(parser, _OPTIONS, defaults, ENV_PREFIX)
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        default=False,
        help="allow binding a non-loopback host without --api-key [SERVER_ALLOW_UNAUTHENTICATED]",
    )
    return parser


def load_settings(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Build `Settings` from `argv` over `environ`; exits with a usage error on bad values."""
    parser = build_parser()
    env_args = argv_from_env(parser, environ, ENV_PREFIX)
    args = parser.parse_args([*env_args, *argv])
    choice = choose_cli(args.cli)
    models = args.models or choice.models
    if args.default_model is None:
        args.default_model = choice.default_model if choice.default_model in models else models[0]
    if args.default_model not in models:
        parser.error(f"--default-model {args.default_model!r} is not one of --models {models}")
    if not args.api_key and not args.allow_unauthenticated and not is_loopback(args.host):
        parser.error(
            f"refusing to serve {args.host} without --api-key; "
            "pass --allow-unauthenticated to do so anyway"
        )
    return Settings(
        host=args.host,
        port=args.port,
        cli=choice.cli,
        cli_reason=choice.reason,
        api_key=args.api_key or None,
        allow_unauthenticated=args.allow_unauthenticated,
        models=models,
        default_model=args.default_model,
        first_token_timeout=args.first_token_timeout,
        stall_timeout=args.stall_timeout,
        max_concurrency=args.max_concurrency,
        queue_timeout=args.queue_timeout,
        max_body_bytes=args.max_body_bytes,
        max_line_bytes=args.max_line_bytes,
        kill_grace=args.kill_grace,
        warm=args.warm,
        warm_max_age=args.warm_max_age,
        conversations=args.conversations,
        conversation_idle=args.conversation_idle,
        drain_timeout=args.drain_timeout,
        db=args.db,
        store_ttl=args.store_ttl,
        reasoning_effort=args.reasoning_effort,
        log_level=args.log_level,
        cli_env=cli_environment(environ),
    )


def cli_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The CLI's environment: ours, without our own API key, and with the CLI's own
    background traffic off by default."""
    env = dict(environ)
    env.pop(env_var("--api-key"), None)
    env.setdefault("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
    env.setdefault("DISABLE_TELEMETRY", "1")
    return env


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses, the hosts that may go without a key."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
