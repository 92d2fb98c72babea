"""`GET /metrics` of a real `python -m voice`: parsed by `prometheus_client`'s own parser after
real calls, it counts live sessions, ended ones by transport and reason, each turn's latency
by stage, and the answers a caller interrupted."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.pipecat_client import VoiceClient
from harness.speech import QUESTION, speak
from harness.voice_app import VoiceApp, start_voice_app

ANSWER = " ".join(["Paris is the capital of France, and it is a city of many bridges."] * 4)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, fake_cli: Path) -> Iterator[VoiceApp]:
    voice_app = start_voice_app(
        tmp_path_factory.mktemp("voice_app"),
        env={"VOICE_LLM_CLI": str(fake_cli), "FAKE_CLI_ANSWER": ANSWER, "FAKE_CLI_DELAY": "0.05"},
    )
    yield voice_app
    voice_app.stop()


def samples(app: VoiceApp) -> dict[tuple[str, tuple], float]:
    """Every sample of `/metrics`: (name, sorted labels) -> value."""
    with urllib.request.urlopen(f"{app.http_url}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def until(app: VoiceApp, check, within: float = 10.0) -> dict:
    """The metrics once `check` holds for them (bounded wait)."""
    deadline = time.monotonic() + within
    while True:
        found = await asyncio.to_thread(samples, app)
        if check(found):
            return found
        assert time.monotonic() < deadline, f"metrics never got there: {found}"
        await asyncio.sleep(0.1)


async def test_calls_turns_and_barge_ins_are_counted(app: VoiceApp):
    before = samples(app)
    assert before[("voice_active_sessions", ())] == 0
    assert before[("voice_draining", ())] == 0

    async with VoiceClient.connect(app.ws_url) as client:
        await client.wait_for("bot-ready")
        await until(app, lambda m: m[("voice_active_sessions", ())] == 1)
        said = await client.say(speak(QUESTION, 16000))
        speaking = await client.wait_for("bot-started-speaking", after=said, within=60)
        await asyncio.sleep(1.5)
        await client.say(speak("Stop. What about Rome?", 16000))
        await client.wait_for("bot-interrupted", after=speaking, within=10)

    ended = ("voice_sessions_total", (("end_reason", "caller hung up"), ("transport", "websocket")))
    after = await until(app, lambda m: m.get(ended) == 1 and m[("voice_active_sessions", ())] == 0)
    assert after[("voice_barge_ins_total", ())] >= 1
    total = ("voice_turn_latency_seconds_count", (("stage", "total"),))
    assert after[total] >= 1
    # llm_inference only when the first token came after the turn ended (an early answer's
    # comes before it).
    for stage in ("transcription", "speech_synthesis"):
        assert after[("voice_turn_latency_seconds_count", (("stage", stage),))] >= 1
    assert 0 < after[("voice_turn_latency_seconds_sum", (("stage", "total"),))] < 30
