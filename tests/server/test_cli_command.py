import json

from server.cli_command import build_argv, stdin_message


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
