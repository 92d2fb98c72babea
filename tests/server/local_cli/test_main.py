"""The local CLI alone, as a process: stream-json out, errors as results, signals."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from server.cli.command import stdin_message
from server.cli.events import Result, TextDelta
from server.local_cli.options import EXPECTED_SYSTEM_ENV
from server.prompt import Turn, flatten
from tests.server.local_cli.conftest import FRANCE, LONG, ask, cli_env, local_argv, run_cli, tokens


def test_answers_a_flattened_question_in_stream_json(local_model):
    code, events, lines = run_cli(ask(FRANCE))
    assert code == 0
    assert json.loads(lines[0])["subtype"] == "init"
    kinds = {json.loads(line)["type"] for line in lines}
    assert kinds == {"system", "stream_event", "assistant", "result"}
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1  # streamed piece by piece, not in one go
    result = events[-1]
    assert isinstance(result, Result) and not result.is_error
    assert [e for e in events if e is not None] == [*deltas, result]
    assert "".join(d.text for d in deltas) == result.text
    assert "Paris" in result.text
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0


def test_later_messages_continue_the_conversation(local_model):
    code, _, lines = run_cli(ask(FRANCE) + stdin_message("And what about Italy?"))
    results = [json.loads(line) for line in lines if json.loads(line)["type"] == "result"]
    assert code == 0 and [r["is_error"] for r in results] == [False, False]
    first, second = (r["usage"] for r in results)
    # The second prompt holds the first exchange too (much of it read from llama.cpp's cache).
    prompt = "input_tokens", "cache_read_input_tokens"
    assert sum(second[k] for k in prompt) > sum(first[k] for k in prompt) + first["output_tokens"]


def test_a_waiting_process_has_read_the_system_prompt_it_expects(local_model):
    expected = "You are the front desk of a dental practice. Answer in one short sentence."
    opening = stdin_message(flatten([Turn("system", expected), Turn("user", FRANCE)]))
    unexpected = stdin_message(flatten([Turn("system", "Be terse."), Turn("user", FRANCE)]))

    def usage(stdin: bytes) -> dict:
        code, events, lines = run_cli(stdin, **{EXPECTED_SYSTEM_ENV: expected})
        assert code == 0 and isinstance(events[-1], Result) and "Paris" in events[-1].text
        return json.loads(lines[-1])["usage"]

    read_ahead, not_read = usage(opening), usage(unexpected)

    # Only the question and the template around it are read once the prompt comes.
    assert read_ahead["cache_read_input_tokens"] > read_ahead["input_tokens"] > 0
    assert read_ahead["input_tokens"] < 20, read_ahead
    assert not_read["input_tokens"] > read_ahead["input_tokens"]


def test_after_an_answer_it_reads_the_next_question_opening(local_model, tmp_path):
    system = "Answer in one short sentence."
    italy = "And what about Italy?"
    trace = tmp_path / "trace.jsonl"
    env = cli_env(LOCAL_CLI_TRACE=str(trace), **{EXPECTED_SYSTEM_ENV: system})
    with subprocess.Popen(
        local_argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    ) as proc:
        proc.stdin.write(stdin_message(flatten([Turn("system", system), Turn("user", FRANCE)])))
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while not (trace.exists() and tokens(trace, "opening")):  # read once stdin is quiet
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        out, _ = proc.communicate(stdin_message(italy), timeout=60)
    results = [json.loads(line) for line in out.splitlines() if b'"result"' in line]
    _, second = [r for r in results if r["type"] == "result"]
    [first] = [
        json.loads(line)
        for line in run_cli(
            stdin_message(flatten([Turn("system", system), Turn("user", italy)])),
            **{EXPECTED_SYSTEM_ENV: system},
        )[2]
        if json.loads(line)["type"] == "result"
    ]

    # After an answer the process reads its end and the next user turn's opening, so the
    # next question costs what a first one costs in a process that read the system prompt:
    # its own words and the marks after them (5 more tokens without that read).
    assert not first["is_error"] and not second["is_error"]
    assert second["usage"]["input_tokens"] == first["usage"]["input_tokens"], (first, second)
    assert len(tokens(trace, "opening")) == 1  # after the first answer (then stdin ended)


def test_a_message_that_comes_at_once_is_answered_before_any_opening_read(local_model, tmp_path):
    trace = tmp_path / "trace.jsonl"
    code, events, _ = run_cli(
        ask(FRANCE) + stdin_message("And what about Italy?"), LOCAL_CLI_TRACE=str(trace)
    )

    assert code == 0 and [type(e) for e in events].count(Result) == 2
    assert not tokens(trace, "opening")  # the second prompt held it; then stdin ended


def test_a_message_to_read_ahead_is_read_not_answered(local_model, tmp_path):
    history = [
        Turn("system", "Answer in one sentence."),
        Turn("user", LONG),
        Turn("assistant", "Once upon a time, a dragon sang."),
    ]
    then = [Turn("user", FRANCE)]
    trace = tmp_path / "trace.jsonl"
    stdin = stdin_message(flatten(history), read_ahead=True) + stdin_message(flatten(then))

    code, events, lines = run_cli(stdin, LOCAL_CLI_TRACE=str(trace))

    assert code == 0
    # One answer, to the second message; the first printed nothing but was read.
    assert [type(e) for e in events].count(Result) == 1 and "Paris" in events[-1].text
    assert len(tokens(trace, "read")) == 1
    usage = json.loads(lines[-1])["usage"]
    assert usage["cache_read_input_tokens"] > 40  # the story and its answer, from the cache
    assert usage["input_tokens"] < 30, usage  # only the question


def test_a_cache_only_message_is_read_into_the_cache_not_the_conversation(local_model, tmp_path):
    cut = [Turn("user", LONG), Turn("assistant", "Once upon a time, a dragon sang.")]
    then = [Turn("user", LONG), Turn("assistant", "Once upon a time"), Turn("user", FRANCE)]
    trace = tmp_path / "trace.jsonl"
    stdin = stdin_message(flatten(cut), cache_only=True) + stdin_message(flatten(then))

    code, events, lines = run_cli(stdin, LOCAL_CLI_TRACE=str(trace))
    _, _, fresh_lines = run_cli(stdin_message(flatten(then)))

    assert code == 0
    assert [type(e) for e in events].count(Result) == 1 and "Paris" in events[-1].text
    assert len(tokens(trace, "cached")) == 1 and not tokens(trace, "read")
    usage, fresh = (json.loads(out[-1])["usage"] for out in (lines, fresh_lines))
    # The conversation is only what the answered message says, as in a fresh process...
    total = usage["input_tokens"] + usage["cache_read_input_tokens"]
    assert total == fresh["input_tokens"] + fresh["cache_read_input_tokens"]
    # ...but the story's question and "Once upon a time" came from the cache.
    assert usage["input_tokens"] < 25 < fresh["input_tokens"], (usage, fresh)


@pytest.mark.parametrize(
    ("given", "spins"), [(None, "'0'"), ("active", "'30000000000'"), ("passive", "'0'")]
)
def test_the_model_threads_wait_without_spinning_unless_the_operator_says(
    local_model, given: str | None, spins: str
):
    # libgomp prints its settings to stderr as it starts; unset, it spins 300000 times.
    env = cli_env(OMP_DISPLAY_ENV="verbose")
    env.pop("OMP_WAIT_POLICY", None)
    if given:
        env["OMP_WAIT_POLICY"] = given
    done = subprocess.run(
        local_argv(), input=ask(FRANCE), capture_output=True, env=env, timeout=120
    )

    assert done.returncode == 0, done.stderr.decode()
    assert f"GOMP_SPINCOUNT = {spins}" in done.stderr.decode()


@pytest.mark.parametrize(
    ("stdin", "model", "args", "error"),
    [
        (b"this is not json\n", "local", (), "not JSON"),
        (b'{"type":"control_request"}\n', "local", (), "not a stream-json user message"),
        (stdin_message("   "), "local", (), "empty"),
        (ask(FRANCE), "gpt-4o", (), "local, sonnet, haiku, opus"),
        (ask(FRANCE), "local", ("--model-file=/nonexistent.gguf",), "not found"),
    ],
    ids=["garbage-line", "not-a-user-message", "empty-prompt", "unknown-model", "missing-model"],
)
def test_bad_input_ends_with_an_error_result(local_model, stdin, model, args, error):
    code, events, _ = run_cli(stdin, model=model, args=args)
    assert code != 0
    result = events[-1]
    assert isinstance(result, Result) and result.is_error
    assert error in result.text


def test_sigterm_ends_it_mid_answer(local_model, tmp_path):
    trace = tmp_path / "trace.jsonl"
    env = cli_env(LOCAL_CLI_TRACE=str(trace))
    with subprocess.Popen(
        [*local_argv(), "--max-tokens=2000"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as proc:
        proc.stdin.write(ask(LONG))
        proc.stdin.flush()
        while b"text_delta" not in proc.stdout.readline():
            pass
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == -signal.SIGTERM
    assert not tokens(trace, "done")
