"""Calls recorded end to end: real `python -m voice` sessions over `/ws-client` (synthesized
speech in, the fake CLI answering), then `/api/calls` and the `/calls` page in Chromium show
them: both sides' words, the latency numbers, an interruption as spoken, calls kept apart,
and the records still there after a restart.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.browser import chromium
from harness.pipecat_client import VoiceClient
from harness.speech import QUESTION, speak
from harness.voice_app import VoiceApp, start_voice_app
from tests.voice.conftest import require_chromium

ANSWER = (
    "Paris is the capital of France. It sits on the river Seine, and it is known for its "
    "museums, its parks, its bridges and its cafes, which are full from morning to night."
)
WORD_DELAY = "0.1"  # seconds between the fake CLI's words: several seconds of speech


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("records") / "calls.db"


def start_app(tmp_path: Path, fake_cli: Path, db: Path) -> VoiceApp:
    return start_voice_app(
        tmp_path,
        env={
            "VOICE_DB": str(db),
            "VOICE_LLM_CLI": str(fake_cli),
            "FAKE_CLI_ANSWER": ANSWER,
            "FAKE_CLI_DELAY": WORD_DELAY,
        },
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, fake_cli: Path, db: Path) -> Iterator[VoiceApp]:
    voice_app = start_app(tmp_path_factory.mktemp("voice_app"), fake_cli, db)
    yield voice_app
    voice_app.stop()


def get(app: VoiceApp, path: str) -> dict:
    with urllib.request.urlopen(f"{app.http_url}{path}", timeout=10) as response:
        return json.load(response)


def ended_call(app: VoiceApp, with_words: str, within: float = 15.0) -> dict:
    """The recorded call whose first turn has the caller saying `with_words`, once it has
    ended (its end is written when the session closes)."""
    deadline = time.monotonic() + within
    while True:
        for listed in get(app, "/api/calls?limit=100")["calls"]:
            call = get(app, f"/api/calls/{listed['id']}")
            said = call["turns"][0]["user"].lower() if call["turns"] else ""
            if with_words in said and call["end"]:
                return call
        assert time.monotonic() < deadline, f"no ended call with {with_words!r}"
        time.sleep(0.2)


async def ask(client: VoiceClient, question: str) -> None:
    """Ask and hear the whole answer."""
    await client.wait_for("bot-ready")
    said = await client.say(speak(question, 16000))
    started = await client.wait_for("bot-started-speaking", after=said, within=60)
    await client.wait_for("bot-stopped-speaking", after=started, within=60)


async def first_sentence_spoken(client: VoiceClient, after: float, within: float = 30.0) -> None:
    """Wait for RTVI `bot-output` to say a whole sentence has been played (what is recorded
    as spoken goes sentence by sentence)."""
    deadline = time.monotonic() + within
    while not any(
        m.get("type") == "bot-output"
        and (m["data"].get("spoken") or m["data"].get("spoken_status") == "completed")
        for t, m in client.received.messages
        if t > after
    ):
        assert time.monotonic() < deadline, "no sentence spoken"
        await asyncio.sleep(0.05)


async def test_a_call_is_recorded_with_both_sides_and_its_latency(app: VoiceApp):
    async with VoiceClient.connect(app.ws_url) as client:
        await ask(client, QUESTION)

    call = ended_call(app, "capital")
    assert call["transport"] == "websocket" and call["end"]["reason"] == "caller hung up"
    [turn] = call["turns"]
    assert "france" in turn["user"].lower()
    assert turn["bot"] == ANSWER and not turn["interrupted"]
    latency = turn["latency"]
    assert latency["total"] > 0
    # llm_inference only when the first token came after the turn ended; an early answer's
    # comes before, and the held answer's wait is turn_detection.
    assert {"transcription", "speech_synthesis"} <= set(latency["parts"])
    assert sum(latency["parts"].values()) == pytest.approx(latency["total"], abs=0.05)
    assert ANSWER not in app.log()  # transcripts never go to the log at INFO


async def test_an_interrupted_answer_is_stored_as_far_as_it_was_spoken(app: VoiceApp):
    async with VoiceClient.connect(app.ws_url) as client:
        await client.wait_for("bot-ready")
        said = await client.say(speak("Tell me about Paris.", 16000))
        speaking = await client.wait_for("bot-started-speaking", after=said, within=60)
        await first_sentence_spoken(client, after=speaking)
        barge = time.monotonic()
        asked = await client.say(speak("Stop. What about Rome?", 16000))
        await client.wait_for("bot-interrupted", after=barge, within=10)
        answering = await client.wait_for("bot-started-speaking", after=asked, within=60)
        await client.wait_for("bot-stopped-speaking", after=answering, within=60)

    call = ended_call(app, "about paris")
    first = call["turns"][0]
    assert first["interrupted"]
    assert first["bot"] and ANSWER.startswith(first["bot"]) and first["bot"] != ANSWER
    assert "rome" in call["turns"][1]["user"].lower()


async def test_two_calls_at_once_keep_their_own_turns(app: VoiceApp):
    async def call(question: str) -> None:
        async with VoiceClient.connect(app.ws_url) as client:
            await ask(client, question)

    await asyncio.gather(call("Tell me about a mountain."), call("Tell me about a bicycle."))

    mountain, bicycle = ended_call(app, "mountain"), ended_call(app, "bicycle")
    assert mountain["id"] != bicycle["id"]
    for record, word, other in (
        (mountain, "mountain", "bicycle"),
        (bicycle, "bicycle", "mountain"),
    ):
        said = " ".join(t["user"] for t in record["turns"]).lower()
        assert word in said and other not in said, record


def test_the_page_shows_a_known_call(app: VoiceApp):
    require_chromium()
    call = ended_call(app, "about paris")

    with chromium(None) as browser:
        page = browser.new_page()
        page.goto(f"{app.http_url}/calls?call={call['id']}")
        page.wait_for_selector(f"tr[data-id='{call['id']}'].open")
        page.wait_for_selector(".turn .bubble.bot")
        shown = page.inner_text("#call")
        bars = page.locator(".turn .bar span").count()
        flagged = page.locator(".turn .flag").count()

    assert call["turns"][0]["user"] in shown and call["turns"][0]["bot"] in shown
    assert "interrupted by the caller" in shown and flagged >= 1
    assert bars >= 3  # stages drawn as a stacked bar


def test_the_records_survive_a_restart(app: VoiceApp, tmp_path: Path, fake_cli: Path, db: Path):
    before = get(app, "/api/calls?limit=100")["calls"]
    assert app.stop() == 0, app.log()

    again = start_app(tmp_path, fake_cli, db)
    try:
        after = get(again, "/api/calls?limit=100")["calls"]
    finally:
        assert again.stop() == 0, again.log()

    assert after == before and len(after) >= 4
