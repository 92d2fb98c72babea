"""The local CLI as the server's `--cli`: streamed as generated, ended on barge-in."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import aiohttp
import pytest

from server.http.state import PROCESSES
from server.settings import Settings, cli_environment
from tests.conftest import pid_alive, wait_until
from tests.server.local_cli.conftest import LONG, MODELS, cli_env, tokens


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
        overrides.setdefault("drain_timeout", 0)  # closed at once
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
