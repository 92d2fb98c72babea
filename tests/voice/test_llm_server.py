"""The bundled completions server runs as a real child process and never outlives its owner."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from harness.process_table import cmdline
from server.cli.process import pid_running
from voice.llm_server import (
    BundledLlmServer,
    LlmServerError,
    free_port,
    server_argv,
    server_env,
)
from voice.prompt import SYSTEM_PROMPT


def test_argv_passes_every_value_in_flag_equals_form_and_the_key_in_the_environment():
    argv = server_argv(port=8123, cli="/bin/fake", model="local")

    assert argv[1:3] == ["-m", "server"]
    assert argv[3:] == [
        "--host=127.0.0.1",
        "--port=8123",
        "--cli=/bin/fake",
        "--models=local",
        "--default-model=local",
    ]
    assert server_env("-k", {"PATH": "/bin"}) == {
        "PATH": "/bin",
        "SERVER_API_KEY": "-k",
        "LOCAL_CLI_EXPECTED_SYSTEM": SYSTEM_PROMPT,  # read ahead by the local model's processes
    }
    assert server_env("-k", {"LOCAL_CLI_EXPECTED_SYSTEM": ""})["LOCAL_CLI_EXPECTED_SYSTEM"] == ""


def test_free_port_is_a_port():
    assert 0 < free_port() < 65536


async def test_serves_with_a_random_key_and_stops_on_exit(fake_cli: Path):
    bundled = BundledLlmServer(cli=str(fake_cli), model="local")
    async with bundled as endpoint, aiohttp.ClientSession() as http:
        pid = bundled.pid
        assert endpoint.api_key not in cmdline(pid)
        models = f"{endpoint.base_url}/models"
        async with http.get(models) as response:
            assert response.status == 401
        headers = {"Authorization": f"Bearer {endpoint.api_key}"}
        async with http.get(models, headers=headers) as response:
            assert [m["id"] for m in (await response.json())["data"]] == ["local"]

    assert endpoint.base_url.startswith("http://127.0.0.1:") and endpoint.base_url.endswith("/v1")
    assert pid is not None and not pid_running(pid)


async def test_a_server_that_cannot_start_is_an_error():
    with pytest.raises(LlmServerError, match="exited"):
        async with BundledLlmServer(cli="claude", model=""):
            pass
