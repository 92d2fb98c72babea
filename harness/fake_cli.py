#!/usr/bin/env python3
"""A stand-in for the Claude Code CLI: a real process that speaks its stream-json.

It reads one stream-json user message from stdin and answers with the same line types the
real CLI prints. The environment picks its behaviour:

    FAKE_CLI_MODE        normal | slow | crash | error | hang | retry | plain | huge | garbage
                         | subagent | truncated | stall (two words, then silence)
    FAKE_CLI_ANSWER      the answer's text (default: "Paris is the capital of France.")
    FAKE_CLI_DELAY       seconds between text deltas (default 0; "slow" uses 0.05)
    FAKE_CLI_THINKING    thinking streamed (as thinking deltas) before the answer, unless
                         MAX_THINKING_TOKENS is 0, as the real CLI then asks for none
    FAKE_CLI_RECORD_DIR  where to write <pid>.json: argv, cwd, pid, stdin, timestamps
    FAKE_CLI_IGNORE_TERM when set, SIGTERM is ignored (only SIGKILL ends it)
    FAKE_CLI_CHILD       when set, it starts a sleeping child in its process group
    FAKE_CLI_ESCAPEE     when set, it starts a sleeping child in a session of its own (out of
                         reach of a signal to the group) that holds its stdout and stderr
"""

import json
import os
import signal
import sys
import time

MODE = os.environ.get("FAKE_CLI_MODE", "normal")
ANSWER = os.environ.get("FAKE_CLI_ANSWER", "Paris is the capital of France.")
DELAY = float(os.environ.get("FAKE_CLI_DELAY", "0.05" if MODE == "slow" else "0"))
RECORD_DIR = os.environ.get("FAKE_CLI_RECORD_DIR")
SESSION = "00000000-0000-4000-8000-000000000000"
THINKING = os.environ.get("FAKE_CLI_THINKING", "")
if os.environ.get("MAX_THINKING_TOKENS") == "0":
    THINKING = ""
record: dict = {"argv": sys.argv, "cwd": os.getcwd(), "pid": os.getpid(), "started": time.time()}
record["thinking_env"] = {
    name: os.environ[name]
    for name in ("MAX_THINKING_TOKENS", "CLAUDE_CODE_EFFORT_LEVEL")
    if name in os.environ
}


def save() -> None:
    if RECORD_DIR:
        path = os.path.join(RECORD_DIR, f"{os.getpid()}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.replace(path + ".tmp", path)


def emit(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def stream_event(event: dict, parent: str | None = None) -> None:
    emit(
        {
            "type": "stream_event",
            "event": event,
            "session_id": SESSION,
            "parent_tool_use_id": parent,
        }
    )


def thinking_delta(text: str) -> None:
    delta = {"type": "thinking_delta", "thinking": text}
    stream_event({"type": "content_block_delta", "index": 0, "delta": delta})


def text_delta(text: str, parent: str | None = None) -> None:
    delta = {"type": "text_delta", "text": text}
    stream_event({"type": "content_block_delta", "index": 0, "delta": delta}, parent)
    record.setdefault("first_text", time.time())


def result(text: str, *, is_error: bool = False, status: int | None = None) -> None:
    emit(
        {
            "type": "result",
            "subtype": "success",
            "is_error": is_error,
            "api_error_status": status,
            "result": text,
            "session_id": SESSION,
            "usage": {
                "input_tokens": 12,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 3,
                "output_tokens": len(ANSWER.split()),
            },
        }
    )


def tokens(text: str) -> list[str]:
    words = text.split(" ")
    return [words[0]] + [" " + w for w in words[1:]]


def main() -> int:
    if os.environ.get("FAKE_CLI_IGNORE_TERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.environ.get("FAKE_CLI_CHILD"):
        import subprocess

        child = subprocess.Popen(["sleep", "60"])
        record["child_pid"] = child.pid
    if os.environ.get("FAKE_CLI_ESCAPEE"):
        import subprocess

        escapee = subprocess.Popen(["sleep", "60"], start_new_session=True)
        record["escapee_pid"] = escapee.pid
    save()
    line = sys.stdin.readline()
    record["stdin"] = line
    record["stdin_eof"] = sys.stdin.read() == ""
    save()
    message = json.loads(line)
    assert message["type"] == "user", message
    emit(
        {
            "type": "system",
            "subtype": "init",
            "session_id": SESSION,
            "tools": [],
            "model": next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--model=")), ""),
        }
    )

    if MODE == "hang":
        time.sleep(3600)
    if MODE == "retry":
        for attempt in range(1, 11):
            emit(
                {
                    "type": "system",
                    "subtype": "api_retry",
                    "attempt": attempt,
                    "max_retries": 10,
                    "error_status": 401,
                    "error": "authentication_failed",
                }
            )
            time.sleep(0.2)
        time.sleep(3600)
    if MODE == "error":
        result("Prompt is too long", is_error=True, status=400)
        return 1
    if MODE == "plain":
        print("plain text answer line one")
        print("line two")
        return 0
    if MODE == "huge":
        sys.stdout.write("x" * (12 * 1024 * 1024) + "\n")
        sys.stdout.flush()
        return 0

    stream_event({"type": "message_start", "message": {"role": "assistant"}})
    for token in tokens(THINKING) if THINKING else []:
        thinking_delta(token)
        if DELAY:
            time.sleep(DELAY)
    if MODE == "subagent":
        text_delta("not for the user", parent="toolu_1")
    for i, token in enumerate(tokens(ANSWER)):
        if MODE == "garbage":
            print("this line is not JSON {")
        text_delta(token)
        if i == 0:
            save()
        if MODE == "truncated" and i == 1:
            break
        if MODE == "stall" and i == 1:
            time.sleep(3600)
        if MODE == "crash" and i == 1:
            sys.stderr.write("fake CLI crashed: segmentation fault\n")
            sys.stderr.flush()
            os._exit(3)
        if DELAY:
            time.sleep(DELAY)
    stream_event({"type": "message_stop"})
    emit(
        {
            "type": "assistant",
            "message": {"role": "assistant", "content": [{"type": "text", "text": ANSWER}]},
        }
    )
    result(ANSWER)
    record["finished"] = time.time()
    save()
    return 0


def install(directory: str | os.PathLike[str]) -> str:
    """Write this fake as an executable `claude` in `directory`, run by this interpreter with `-S`.

    `#!/usr/bin/env python3` may go through a shell shim costing 100 ms a start; this keeps
    the fake's start-up near the real cost of a process (about 25 ms here).
    """
    # No pathlib: this module is also the fake itself, and every import adds to its start-up.
    path = os.path.join(directory, "claude")
    with open(__file__) as f:
        source = f.read().split("\n", 1)[1]
    with open(path, "w") as f:
        f.write(f"#!{sys.executable} -S\n{source}")
    os.chmod(path, 0o755)
    return path


if __name__ == "__main__":
    sys.exit(main())
