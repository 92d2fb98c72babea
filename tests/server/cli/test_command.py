import json
import sys

from server.cli.command import (
    LOCAL_MODELS,
    ProcessSpec,
    build_argv,
    choose_cli,
    cli_command,
    process_spec,
    stdin_message,
)
from server.cli.thinking import EFFORTS, from_effort


def test_auto_takes_claude_from_path():
    choice = choose_cli("auto", which=lambda name: "/usr/bin/claude")
    assert (choice.cli, choice.default_model) == ("claude", "sonnet")
    assert "/usr/bin/claude" in choice.reason


def test_auto_falls_back_to_the_local_model_and_says_why():
    choice = choose_cli("auto", which=lambda name: None)
    assert choice.cli == "local"
    assert "no claude on PATH" in choice.reason
    assert choice.models == LOCAL_MODELS and choice.default_model == "local"
    assert {"sonnet", "haiku", "opus"} <= set(choice.models)


def test_explicit_choices():
    assert choose_cli("local").cli == "local"
    assert choose_cli("/opt/claude").cli == "/opt/claude"
    assert choose_cli("/opt/claude").models == ("haiku", "sonnet", "opus")
    assert choose_cli("claude").cli == "claude"  # found on PATH when started


def test_a_relative_path_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert choose_cli("bin/claude").cli == str(tmp_path / "bin" / "claude")


def test_commands():
    assert cli_command("local") == (sys.executable, "-m", "server.local_cli")
    assert cli_command("/opt/claude") == ("/opt/claude",)


def test_every_local_alias_and_effort_runs_one_model_and_pool():
    specs = {process_spec("local", m, from_effort(e)) for m in LOCAL_MODELS for e in EFFORTS}
    assert specs == {ProcessSpec("local")}
    assert process_spec("claude", "haiku") == ProcessSpec("haiku")
    assert process_spec("claude", "haiku", from_effort("none")).thinking.env() == {
        "MAX_THINKING_TOKENS": "0"
    }


def test_argv_is_lean_has_no_tools_and_no_prompt():
    argv = build_argv(("claude",), "haiku")
    assert argv[:2] == ["claude", "-p"]
    for flag in (
        "--input-format=stream-json",
        "--output-format=stream-json",
        "--include-partial-messages",
        "--verbose",
        "--model=haiku",
        "--tools=",
        "--no-session-persistence",
    ):
        assert flag in argv


def test_model_cannot_become_a_flag():
    argv = build_argv(("claude",), "--dangerously-skip-permissions")
    assert "--dangerously-skip-permissions" not in argv
    assert "--model=--dangerously-skip-permissions" in argv


def test_stdin_message_is_one_stream_json_line():
    data = stdin_message("line one\nline two — ünïcode")
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data) == {
        "type": "user",
        "message": {"role": "user", "content": "line one\nline two — ünïcode"},
    }
