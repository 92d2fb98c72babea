"""Barge-in end to end: the caller speaks over a long answer and the whole chain stops.

The bundled server runs the fake CLI here (`harness/fake_cli.py`, a real process that records
its pid and stdin), streaming a long answer slowly enough that it is still mid-answer when
the caller interrupts: so the test can see that very process killed, not merely finished.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli_records import cli_records, cli_records_by_pid, prompt
from harness.phone_caller import PHONE_RATE, PhoneCaller
from harness.pipecat_client import VoiceClient
from harness.process_table import wait_until_gone
from harness.speech import hear, speak
from harness.voice_app import VoiceApp, start_voice_app
from harness.webrtc_peer import WEBRTC_RATE, WebRTCCaller, loopback_ice
from server.cli.process import pid_running

LONG_ANSWER = (
    "Here is a story. Once upon a time there was a small town by the sea. Every morning "
    "the fishermen sailed past the lighthouse and the rocks, and every evening they came "
    "back with their nets full of fish for everybody in the town square."
)
WORD_DELAY = 0.25  # seconds between the fake CLI's words: about 10 s for the whole answer


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, fake_cli: Path, records: Path
) -> Iterator[VoiceApp]:
    voice_app = start_voice_app(
        tmp_path_factory.mktemp("voice_app"),
        env={
            "VOICE_LLM_CLI": str(fake_cli),
            "FAKE_CLI_ANSWER": LONG_ANSWER,
            "FAKE_CLI_DELAY": str(WORD_DELAY),
            "FAKE_CLI_RECORD_DIR": str(records),
        },
        module="harness.loopback_voice",  # WebRTC peers on 127.0.0.1, as the test's own
    )
    yield voice_app
    voice_app.stop()  # graceful, so its server child goes too; a no-op once stopped


def serving(directory: Path, words: str) -> list[dict]:
    """Records of the CLI processes whose prompt ends with the caller saying `words`."""
    return [r for r in cli_records(directory) if words in prompt(r).rsplit("<user>")[-1]]


def answering(directory: Path) -> dict:
    """The record of the one CLI process answering right now: it has its prompt, is running
    and has not finished (a warm process can have started before the last one answered, so
    the newest record with a prompt need not be it)."""
    live = [
        r
        for r in cli_records(directory)
        if prompt(r) and "finished" not in r and pid_running(r["pid"])
    ]
    assert len(live) == 1, f"expected one CLI answering, found {live}"
    return live[0]


async def start_a_long_answer(client: VoiceClient, records: Path, request: str) -> dict:
    """Ask for a story; the record of the CLI still streaming it once the bot speaks."""
    await client.wait_for("bot-ready")
    said = await client.say(speak(request, 16000))
    await client.wait_for("bot-started-speaking", after=said, within=60)
    serving_cli = answering(records)
    assert pid_running(serving_cli["pid"]) and "finished" not in serving_cli
    return serving_cli


async def test_caller_interrupts_a_long_answer(app: VoiceApp, records: Path, question_16k: bytes):
    async with VoiceClient.connect(app.ws_url) as client:
        await client.wait_for("bot-ready")
        said = await client.say(speak("Tell me a story.", 16000))
        speaking = await client.wait_for("bot-started-speaking", after=said, within=60)
        await asyncio.sleep(1.0)
        [first] = serving(records, "story")
        assert pid_running(first["pid"]) and "finished" not in first

        barge = time.monotonic()
        question = asyncio.create_task(client.say(question_16k))
        interrupted = await client.wait_for("bot-interrupted", after=barge, within=10)
        asked = await question
        answering = await client.wait_for("bot-started-speaking", after=asked, within=60)

        # Pipecat's protobuf interruption frame and RTVI's bot-interrupted both reached us.
        assert [t for t in client.received.interruptions if t > barge]
        assert interrupted - barge < 3.0
        # The first answer's audio stopped: nothing more of it while the caller kept talking.
        assert len(client.received.audio_between(speaking, barge)) > 0
        assert client.received.audio_between(interrupted + 0.5, asked) == b""
        # The completion request was closed and the server killed that CLI mid-answer.
        assert wait_until_gone([first["pid"]], within=5) == []
        assert "finished" not in cli_records_by_pid(records)[first["pid"]]
        assert answering > asked

    # The agent asked for no thinking: the caller hears the first words at once.
    assert first["thinking_env"] == {"MAX_THINKING_TOKENS": "0"}
    [second] = serving(records, "capital of France")
    spoken = re.search(r"<assistant>\n(.*?)\n</assistant>", prompt(second), re.S)
    assert spoken, prompt(second)
    # Only what the caller heard went into the history: a beginning of the long answer.
    assert LONG_ANSWER.startswith(spoken.group(1).strip()[:20])
    assert len(spoken.group(1)) < len(LONG_ANSWER)


async def test_caller_hanging_up_mid_answer_ends_its_cli(app: VoiceApp, records: Path):
    async with VoiceClient.connect(app.ws_url) as client:
        cli = await start_a_long_answer(client, records, "Tell me a story about a dog.")

    assert wait_until_gone([cli["pid"]], within=5) == []
    assert "finished" not in cli_records_by_pid(records)[cli["pid"]]


@pytest.mark.parametrize("provider", ["twilio", "telnyx", "plivo"])
async def test_a_phone_caller_interrupts_a_long_answer(app: VoiceApp, records: Path, provider: str):
    async with PhoneCaller.dial(app.http_url, provider=provider) as caller:
        said = await caller.say(speak("Tell me a story about a boat.", PHONE_RATE))
        speaking = await caller.wait_for_audio(after=said, within=60)
        await asyncio.sleep(1.0)
        first = answering(records)
        assert "boat" in prompt(first).rsplit("<user>")[-1].lower(), prompt(first)
        assert pid_running(first["pid"]) and "finished" not in first

        barge = time.monotonic()
        question = asyncio.create_task(
            caller.say(speak("What is the capital of France?", PHONE_RATE))
        )
        cleared = await caller.wait_for_clear(after=barge, within=10)
        asked = await question

        # The provider was told to drop what it had buffered, for this very stream ...
        clear = next(m for t, m in caller.heard.events if t == cleared)
        assert (
            clear
            == {
                "twilio": {"event": "clear", "streamSid": caller.stream_id},
                "telnyx": {"event": "clear"},
                "plivo": {"event": "clearAudio", "streamId": caller.stream_id},
            }[provider]
        )
        assert cleared - barge < 3.0
        # ... and no more of the first answer came while the caller kept talking.
        assert len(caller.heard.audio_between(speaking, barge)) > 0
        assert caller.heard.audio_between(cleared + 0.5, asked) == b""
        assert wait_until_gone([first["pid"]], within=5) == []
        assert "finished" not in cli_records_by_pid(records)[first["pid"]]


async def test_a_phone_call_dropped_mid_answer_ends_its_cli(app: VoiceApp, records: Path):
    async with PhoneCaller.dial(app.http_url, provider="telnyx") as caller:
        said = await caller.say(speak("Tell me a story about a fox.", PHONE_RATE))
        await caller.wait_for_audio(after=said, within=60)
        cli = answering(records)
        assert pid_running(cli["pid"]) and "finished" not in cli
        caller.ws.transport.abort()  # the line drops: no `stop`, no close handshake

    assert wait_until_gone([cli["pid"]], within=5) == []
    assert "finished" not in cli_records_by_pid(records)[cli["pid"]]


async def test_two_phone_calls_and_a_websocket_call_at_once(app: VoiceApp, records: Path):
    async with (
        PhoneCaller.dial(app.http_url) as mountain,
        PhoneCaller.dial(app.http_url, provider="plivo") as computer,
        VoiceClient.connect(app.ws_url) as bicycle,
    ):
        await bicycle.wait_for("bot-ready")
        said = await asyncio.gather(
            mountain.say(speak("Tell me about a mountain.", PHONE_RATE)),
            computer.say(speak("Tell me about a computer.", PHONE_RATE)),
            bicycle.say(speak("Tell me about a bicycle.", 16000)),
        )
        await asyncio.gather(
            mountain.wait_for_audio(after=said[0], within=60),
            computer.wait_for_audio(after=said[1], within=60),
            bicycle.wait_for("bot-started-speaking", after=said[2], within=60),
        )

    # Each call's own words reached a CLI of its own (no other test asks about these).
    asked = [prompt(r).rsplit("<user>")[-1].lower() for r in cli_records(records)]
    for word in ("mountain", "computer", "bicycle"):
        assert [a for a in asked if word in a], (word, asked)
    # And all three calls' CLIs ended with their calls.
    assert wait_until_gone([r["pid"] for r in cli_records(records) if prompt(r)], within=10) == []


async def test_a_webrtc_caller_hears_the_answer_and_interrupts_it(app: VoiceApp, records: Path):
    loopback_ice()
    async with WebRTCCaller.dial(app.http_url) as caller:
        said = await caller.say(speak("Tell me a story about a lighthouse.", WEBRTC_RATE))
        speaking = await caller.wait_for_speech(after=said, within=60)
        await asyncio.sleep(3.0)
        first = answering(records)
        assert pid_running(first["pid"]) and "finished" not in first
        heard = await asyncio.to_thread(
            hear, caller.heard.audio_between(speaking - 0.2), WEBRTC_RATE
        )
        assert "story" in heard.text.lower(), heard.text  # "Here is a story. Once upon ..."

        barge = time.monotonic()
        interruption = "Wait, stop, I have another question. What is the capital of France?"
        asked = await caller.say(speak(interruption, WEBRTC_RATE))

        # The bot fell silent while the caller was still talking, and its CLI was killed.
        assert asked - barge > 3.0
        talked_over = [t for t in caller.heard.loud_after(barge + 1.5) if t < asked]
        assert talked_over == [], f"the bot went on {talked_over[-1] - barge:.1f} s into it"
        assert wait_until_gone([first["pid"]], within=5) == []
        assert "finished" not in cli_records_by_pid(records)[first["pid"]]
        await caller.wait_for_speech(after=asked, within=60)  # then it answered


async def test_a_webrtc_peer_closed_mid_answer_ends_its_session_and_cli(
    app: VoiceApp, records: Path
):
    loopback_ice()
    async with WebRTCCaller.dial(app.http_url) as caller:
        said = await caller.say(speak("Tell me a story about a horse.", WEBRTC_RATE))
        await caller.wait_for_speech(after=said, within=60)
        cli = answering(records)
        assert pid_running(cli["pid"]) and "finished" not in cli

    assert wait_until_gone([cli["pid"]], within=10) == []
    assert "finished" not in cli_records_by_pid(records)[cli["pid"]]


async def test_sigint_mid_answer_stops_the_app_its_server_and_every_cli(
    app: VoiceApp, records: Path
):
    server = app.server_pid()
    async with VoiceClient.connect(app.ws_url) as client:
        cli = await start_a_long_answer(client, records, "Tell me a story about a cat.")

        assert await asyncio.to_thread(app.stop, signal.SIGINT) == 0
        await asyncio.wait_for(client.closed.wait(), 5)

    assert wait_until_gone([server, cli["pid"]], within=5) == []
    assert wait_until_gone([r["pid"] for r in cli_records(records)], within=5) == []
    assert "voice app stopped" in app.log()
