"""Answering early, end to end: a caller who pauses mid-question hears one answer, to the
whole question, and the answer started in the pause is dropped unheard.

The speech timeout is long here (1.5 s), so Whisper's transcript of the first half always
lands inside the caller's 1 s pause however busy the machine: the early answer is started,
then withdrawn when the caller goes on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli_records import cli_records, cli_records_by_pid, prompt
from harness.pipecat_client import VoiceClient
from harness.process_table import wait_until_gone
from harness.speech import speak
from harness.voice_app import VoiceApp, start_voice_app

ANSWER = "The capital of Japan is Tokyo."


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, fake_cli: Path, records: Path
) -> Iterator[VoiceApp]:
    voice_app = start_voice_app(
        tmp_path_factory.mktemp("voice_app"),
        env={
            "VOICE_LLM_CLI": str(fake_cli),
            "VOICE_SPEECH_TIMEOUT": "1.5",
            "FAKE_CLI_ANSWER": ANSWER,
            "FAKE_CLI_DELAY": "0.4",  # still answering when the caller goes on
            "FAKE_CLI_RECORD_DIR": str(records),
        },
    )
    yield voice_app
    voice_app.stop()


def asked(records: Path) -> list[tuple[str, dict]]:
    """What each CLI was asked (the caller's last words in its prompt), with its record."""
    found = []
    for record in cli_records(records):
        if text := prompt(record):
            found.append((text.rsplit("<user>", 1)[-1].lower(), record))
    return found


async def test_a_pause_mid_question_is_answered_once_the_question_is_whole(
    app: VoiceApp, records: Path
):
    silence = bytes(16000 * 2)  # 1 s at 16 kHz
    async with VoiceClient.connect(app.ws_url) as client:
        await client.wait_for("bot-ready")
        first_half = await client.say(speak("What is the capital", 16000))
        await client.say(silence)
        # Whisper hears "of Japan?" alone at every start; "of France?" was "A friend?" at
        # 9 to 13 of 16 starts 32 ms apart.
        whole = await client.say(speak("of Japan?", 16000))
        speaking = await client.wait_for("bot-started-speaking", after=whole, within=60)

        # Nothing was heard before the question was whole: the early answer was held.
        assert client.received.audio_between(first_half, whole) == b""
        assert client.received.rtvi("bot-started-speaking", after=first_half) == [speaking]
        # Its first audio may come just before the bot-started-speaking message.
        assert len(client.received.audio_between(whole)) > 0

    questions = asked(records)
    early = [r for text, r in questions if "capital" in text and "japan" not in text]
    whole_question = [r for text, r in questions if "capital" in text and "japan" in text]
    # The answer started in the pause, for the first half alone, was closed mid-answer...
    assert len(early) == 1, questions
    assert wait_until_gone([early[0]["pid"]], within=5) == []
    assert "finished" not in cli_records_by_pid(records)[early[0]["pid"]]
    # ...and the whole question was asked once: the turn's end released that answer.
    assert len(whole_question) == 1, questions
