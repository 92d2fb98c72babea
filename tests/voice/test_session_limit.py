"""`--max-session-seconds`: a session that reaches it hears a goodbye, then ends, and its slot
is free again; against a real `python -m voice` (the fake CLI answering)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.pipecat_client import VoiceClient
from harness.speech import hear
from harness.voice_app import VoiceApp, start_voice_app

LIMIT_SECS = 3.0


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, fake_cli: Path) -> Iterator[VoiceApp]:
    voice_app = start_voice_app(
        tmp_path_factory.mktemp("voice_app"),
        args=(f"--max-session-seconds={LIMIT_SECS:g}",),
        env={"VOICE_LLM_CLI": str(fake_cli)},
    )
    yield voice_app
    assert voice_app.stop() == 0, voice_app.log()


def live_sessions(app: VoiceApp) -> int:
    with urllib.request.urlopen(f"{app.http_url}/status", timeout=10) as response:
        return json.load(response)["sessions"]["live"]


async def test_a_session_at_its_limit_says_goodbye_and_ends(app: VoiceApp):
    async with VoiceClient.connect(app.ws_url) as client:
        opened = time.monotonic()
        await client.wait_for("bot-ready")
        await asyncio.wait_for(client.closed.wait(), timeout=LIMIT_SECS + 20)
        ended = time.monotonic()

    assert ended - opened >= LIMIT_SECS
    goodbye = await asyncio.to_thread(hear, client.received.audio_between(opened), 24000)
    assert "time limit" in goodbye.text.lower(), goodbye.text
    assert f"reached its {LIMIT_SECS:g} s limit" in app.log()
    deadline = time.monotonic() + 10
    while live_sessions(app):
        assert time.monotonic() < deadline, "the slot was not given back"
        await asyncio.sleep(0.1)
