"""End to end, no mocks: `python -m voice` with its bundled server and local models, driven
over `/ws-client` by a client that speaks Pipecat's protobuf frames and real synthesized speech.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.pipecat_client import CHUNK_BYTES, Received, VoiceClient, audio_message
from harness.process_table import children, cmdline, environ, wait_until_gone
from harness.speech import hear
from harness.voice_app import VoiceApp, VoiceAppError, start_voice_app

ANSWER_WITHIN = 90.0  # generous: two cores shared with the rest of the suite
BOT_RATE = 24000  # the app's output audio


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoiceApp]:
    """One `python -m voice` with the default settings (the bundled local model) for the module."""
    voice_app = start_voice_app(tmp_path_factory.mktemp("voice_app"))
    yield voice_app
    assert voice_app.stop() == 0, voice_app.log()


def heard_after(received: Received, start: float) -> str:
    """What Whisper hears in the bot's audio that arrived from `start` on."""
    return hear(received.audio_between(start), BOT_RATE).text


async def ask(url: str, question: bytes) -> tuple[str, VoiceClient]:
    """Say `question` on a new session; what Whisper hears in the bot's answer."""
    async with VoiceClient.connect(url) as client:
        await client.wait_for("bot-ready")
        said = await client.say(question)
        started = await client.wait_for("bot-started-speaking", after=said, within=ANSWER_WITHIN)
        await client.wait_for("bot-stopped-speaking", after=started, within=ANSWER_WITHIN)
    heard = await asyncio.to_thread(heard_after, client.received, said)
    # What the app's own STT made of the question, so a wrong answer says whose fault it was.
    user_said = [
        m["data"].get("text")
        for _, m in client.received.messages
        if m.get("type") == "user-transcription" and m.get("data", {}).get("final")
    ]
    return f"{heard} (the app heard the question as {user_said})", client


async def test_a_spoken_question_gets_a_spoken_answer(app: VoiceApp, question_16k: bytes):
    heard, client = await ask(app.ws_url, question_16k)

    assert "paris" in heard.lower(), heard
    assert {rate for _, _, rate in client.received.audio} == {BOT_RATE}
    assert "turn latency total=" in app.log()


async def test_two_clients_at_once_both_get_answers(app: VoiceApp, question_16k: bytes):
    (first, _), (second, _) = await asyncio.gather(
        ask(app.ws_url, question_16k), ask(app.ws_url, question_16k)
    )

    assert "paris" in first.lower(), first
    assert "paris" in second.lower(), second


async def test_bad_clients_end_only_their_own_session(app: VoiceApp, question_16k: bytes):
    async with VoiceClient.connect(app.ws_url) as good:
        await good.wait_for("bot-ready")
        bad_messages = {
            "garbage": b"\xff\x00 this is not a protobuf frame \x00\xff",
            "48000 Hz": audio_message(b"\x00" * CHUNK_BYTES, sample_rate=48000),
            "text message": "hello",
        }
        for message in bad_messages.values():
            async with VoiceClient.connect(app.ws_url, microphone=False) as bad:
                await bad.wait_for("bot-ready")
                await bad.ws.send(message)
                await asyncio.wait_for(bad.closed.wait(), 10)
        async with VoiceClient.connect(app.ws_url) as leaver:
            await leaver.wait_for("bot-ready")
            await leaver.say(question_16k)
            await leaver.wait_for("user-stopped-speaking", within=ANSWER_WITHIN)
        # the leaver hung up while its answer was on the way

        said = await good.say(question_16k)
        started = await good.wait_for("bot-started-speaking", after=said, within=ANSWER_WITHIN)
        await good.wait_for("bot-stopped-speaking", after=started, within=ANSWER_WITHIN)
        status = await asyncio.to_thread(_status, app)
    heard = await asyncio.to_thread(heard_after, good.received, said)

    assert "paris" in heard.lower(), heard
    assert status["sessions"]["live"] == 1
    log = app.log()
    assert "bad client input: 34 bytes that are not a protobuf frame" in log
    assert "bad client input: audio at 48000 Hz with 1 channel(s)" in log
    assert "bad client input: a text message" in log
    assert app.process.poll() is None


def test_status_says_where_to_connect(app: VoiceApp):
    status = _status(app)

    assert status["status"] == "ready"
    assert status["websocket"] == "/ws-client"


def _status(app: VoiceApp) -> dict:
    with urllib.request.urlopen(f"{app.http_url}/status", timeout=10) as response:
        return json.loads(response.read())


def test_the_app_stops_if_its_completions_server_dies(tmp_path: Path, fake_cli: Path):
    lonely = start_voice_app(tmp_path, env={"VOICE_LLM_CLI": str(fake_cli)})
    server = lonely.server_pid()

    os.kill(server, signal.SIGKILL)

    assert lonely.process.wait(30) == 1
    assert "the completions server exited with -9; stopping" in lonely.log()
    assert wait_until_gone([server]) == []


def test_a_killed_app_takes_its_server_and_clis_with_it(tmp_path: Path, fake_cli: Path):
    doomed = start_voice_app(tmp_path, env={"VOICE_LLM_CLI": str(fake_cli)})
    server = doomed.server_pid()
    clis = _wait_for_children(server, 2)  # the warm pool
    key = environ(server)["SERVER_API_KEY"]
    started = [doomed.process.pid, server, *clis]
    assert key and not [pid for pid in started if key in cmdline(pid)]  # `ps` shows no key

    doomed.process.kill()  # no cleanup of the app's runs: the kernel has to do it
    doomed.process.wait(10)

    assert wait_until_gone([server, *clis], within=5.0) == []


def _wait_for_children(pid: int, count: int, within: float = 30.0) -> list[int]:
    deadline = time.monotonic() + within
    while len(found := children(pid)) < count:
        assert time.monotonic() < deadline, f"pid {pid} has children {found}, not {count}"
        time.sleep(0.05)
    return found


def test_a_call_store_that_cannot_be_opened_stops_the_start(tmp_path: Path, fake_cli: Path):
    (tmp_path / "a-file").write_text("")
    bad = str(tmp_path / "a-file" / "calls.db")

    with pytest.raises(VoiceAppError, match=f"cannot open the call store {bad}"):
        start_voice_app(tmp_path, env={"VOICE_DB": bad, "VOICE_LLM_CLI": str(fake_cli)})
