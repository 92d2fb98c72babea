"""`python -m bench.server`'s flags, and `--backend auto` choosing as the server does."""

from __future__ import annotations

import pytest

from bench.server.options import choose_backend, parse_config


def on_path(name: str) -> str | None:
    return f"/opt/bin/{name}"


def nowhere(name: str) -> str | None:
    return None


def test_auto_takes_claude_from_path_as_the_server_does():
    backend, cli, reason = choose_backend("auto", None, on_path)

    assert (backend, cli) == ("claude", "claude")
    assert reason == "--backend auto: found claude on PATH at /opt/bin/claude"


def test_auto_without_claude_on_path_takes_the_local_model():
    backend, cli, reason = choose_backend("auto", None, nowhere)

    assert (backend, cli) == ("local", None)
    assert reason.startswith("--backend auto: no claude on PATH, so the bundled local model")


def test_auto_with_a_cli_named_takes_that_cli():
    assert choose_backend("auto", "/x/claude", nowhere) == (
        "claude",
        "/x/claude",
        "--backend auto: --cli /x/claude",
    )
    assert choose_backend("auto", "local", on_path)[0] == "local"


def test_a_backend_named_is_taken_as_it_is():
    assert choose_backend("fake", None, on_path) == ("fake", None, "--backend fake")


def test_auto_is_the_default_and_the_config_records_the_choice():
    config = parse_config(["-n", "3"], which=nowhere)

    assert config.backend == "local" and config.requests == 3
    assert config.to_dict()["backend_reason"].startswith("--backend auto: no claude on PATH")


def test_url_needs_the_url_backend():
    with pytest.raises(SystemExit):
        parse_config(["--url", "http://127.0.0.1:9"], which=nowhere)
