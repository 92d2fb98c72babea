"""Scale-out on one machine: nginx with least connections in front of two `python -m voice`
instances. Calls spread across both; SIGKILL one mid-call and only its call drops, while new
calls go to the survivor; SIGTERM the survivor and its calls finish with a goodbye."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.nginx import NginxMissing, load_balancer
from harness.pipecat_client import VoiceClient
from harness.speech import QUESTION, speak
from harness.voice_app import VoiceApp, start_voice_app
from tests.conftest import missing_dependency

ANSWER = "Paris is the capital of France."


@pytest.fixture
def apps(tmp_path: Path, fake_cli: Path) -> Iterator[tuple[VoiceApp, VoiceApp]]:
    env = {"VOICE_LLM_CLI": str(fake_cli), "FAKE_CLI_ANSWER": ANSWER}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    # One after the other, from this thread: each app is tied to the thread that started it
    # (PR_SET_PDEATHSIG), so one started from a pool thread dies with that thread.
    a = start_voice_app(tmp_path / "a", env=env)
    b = start_voice_app(tmp_path / "b", env=env)
    yield a, b
    for app in (a, b):
        app.stop(signal.SIGKILL)


@pytest.fixture
def balancer(apps: tuple[VoiceApp, VoiceApp]) -> Iterator[str]:
    upstreams = [app.http_url.removeprefix("http://") for app in apps]
    try:
        with load_balancer(upstreams) as address:
            yield address
    except NginxMissing as e:
        missing_dependency(str(e))


def live(app: VoiceApp) -> int:
    with urllib.request.urlopen(f"{app.http_url}/status", timeout=5) as response:
        return json.load(response)["sessions"]["live"]


async def until(check, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.1)


async def answered(client: VoiceClient) -> None:
    """Ask and hear the whole answer."""
    said = await client.say(speak(QUESTION, 16000))
    started = await client.wait_for("bot-started-speaking", after=said, within=60)
    await client.wait_for("bot-stopped-speaking", after=started, within=60)


async def test_calls_spread_survive_a_killed_instance_and_drain_from_the_other(
    apps: tuple[VoiceApp, VoiceApp], balancer: str
):
    a, b = apps
    url = f"ws://{balancer}/ws-client"
    async with VoiceClient.connect(url) as first, VoiceClient.connect(url) as second:
        await first.wait_for("bot-ready")
        await second.wait_for("bot-ready")
        await until(lambda: live(a) == 1 and live(b) == 1)  # least connections: one each

        a.process.kill()  # mid-call, no drain
        done, _ = await asyncio.wait(
            [asyncio.create_task(c.closed.wait()) for c in (first, second)],
            timeout=10,
            return_when=asyncio.FIRST_COMPLETED,
        )
        assert len(done) == 1  # only the killed instance's call dropped
        kept = second if first.closed.is_set() else first
        await asyncio.sleep(1.0)
        assert not kept.closed.is_set()
        await answered(kept)

        async with VoiceClient.connect(url) as third:  # nginx skips the dead instance
            await third.wait_for("bot-ready")
            await until(lambda: live(b) == 2)
            await answered(third)

            signalled = time.monotonic()
            b.process.send_signal(signal.SIGTERM)
            for client in (kept, third):  # each ends with a goodbye, then the app hangs up
                await client.wait_for("bot-started-speaking", after=signalled, within=30)
                await asyncio.wait_for(client.closed.wait(), 30)
    assert await asyncio.to_thread(b.process.wait, 40) == 0, b.log()
    assert "drained: every session ended" in b.log()
