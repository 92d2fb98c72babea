"""Graceful drain: SIGTERM while a caller is mid-question. The answer still arrives whole, the
bot says goodbye and hangs up, new sessions are refused, `/ready` says 503 while `/live` says
200, and the app exits 0 within `--drain-timeout`."""

from __future__ import annotations

import asyncio
import signal
import time
import urllib.error
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from harness.http_json import http_status, post_json
from harness.pipecat_client import VoiceClient
from harness.speech import QUESTION, hear, speak
from harness.voice_app import VoiceApp, start_voice_app
from voice.calls.store import CallStore

ANSWER = (
    "Paris is the capital of France. It sits on the river Seine, and it is known for its "
    "museums, its parks and its bridges."
)
DRAIN_TIMEOUT = 40.0


def status(app: VoiceApp, path: str) -> int:
    return http_status(f"{app.http_url}{path}")


async def wait_for_status(app: VoiceApp, path: str, expected: int, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while (got := await asyncio.to_thread(status, app, path)) != expected:
        assert time.monotonic() < deadline, f"{path} still {got}, not {expected}"
        await asyncio.sleep(0.05)


@pytest.fixture
def app(tmp_path: Path, fake_cli: Path):
    voice_app = start_voice_app(
        tmp_path,
        args=(f"--drain-timeout={DRAIN_TIMEOUT:g}",),
        env={
            "VOICE_LLM_CLI": str(fake_cli),
            "FAKE_CLI_ANSWER": ANSWER,
            "FAKE_CLI_DELAY": "0.1",  # about two seconds of text: SIGTERM lands mid-answer
        },
    )
    yield voice_app
    voice_app.stop(signal.SIGKILL)


async def test_sigterm_lets_the_answer_finish_refuses_new_calls_and_exits_0(
    app: VoiceApp, tmp_path: Path
):
    assert status(app, "/ready") == 200 and status(app, "/live") == 200
    async with VoiceClient.connect(app.ws_url) as caller:
        await caller.wait_for("bot-ready")
        said = await caller.say(speak(QUESTION, 16000))
        speaking = await caller.wait_for("bot-started-speaking", after=said, within=60)
        signalled = time.monotonic()
        app.process.send_signal(signal.SIGTERM)

        await wait_for_status(app, "/ready", 503)
        assert status(app, "/live") == 200
        async with connect(app.ws_url) as late:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(late.recv(), 10)
        assert closed.value.rcvd.code == 1013
        with pytest.raises(urllib.error.HTTPError) as refused:
            await asyncio.to_thread(post_json, f"{app.http_url}/api/offer", {})
        assert refused.value.code == 503 and refused.value.headers["Retry-After"]
        refused.value.close()

        # The answer plays to its end, then a goodbye, then the app hangs up.
        stopped = await caller.wait_for("bot-stopped-speaking", after=speaking, within=60)
        goodbye = await caller.wait_for("bot-started-speaking", after=stopped, within=30)
        await asyncio.wait_for(caller.closed.wait(), 30)
    # Whisper hears Piper's "Goodbye." now and then as "Bye-bye."
    heard = hear(caller.received.audio_between(goodbye), 24000).text.lower()
    assert "call again" in heard and "bye" in heard, heard
    assert not [t for t in caller.received.interruptions if t > signalled]

    code = await asyncio.to_thread(app.process.wait, DRAIN_TIMEOUT)
    assert code == 0, app.log()
    assert "drained: every session ended" in app.log()

    store = CallStore.open(str(tmp_path / "calls.db"))
    try:
        [listed] = await store.list_calls(limit=5)
        call = await store.get_call(listed.id)
    finally:
        await store.close()
    assert call.end_reason == "server drain"
    assert call.turns[0].bot_text == ANSWER and not call.turns[0].interrupted


async def test_a_second_sigterm_ends_at_once(app: VoiceApp):
    async with VoiceClient.connect(app.ws_url) as caller:
        await caller.wait_for("bot-ready")
        said = await caller.say(speak(QUESTION, 16000))
        await caller.wait_for("bot-started-speaking", after=said, within=60)
        app.process.send_signal(signal.SIGTERM)
        await wait_for_status(app, "/ready", 503)
        app.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(caller.closed.wait(), 10)  # mid-answer: no goodbye
    assert caller.ws.close_code == 1012  # uvicorn's "service restart"
    assert await asyncio.to_thread(app.process.wait, 15) == 0
