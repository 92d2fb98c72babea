"""Auth on, end to end: a real `python -m voice --api-key ...` (the fake CLI answering), each
channel opened with the token `POST /start` gave, by the clients each channel has: the
websocket protobuf client, an aiortc WebRTC peer, a Telnyx media stream. The portal's `body`
reaches the model's prompt; a token opens one session; without one nothing opens.
"""

from __future__ import annotations

import functools
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from harness.cli_records import cli_records, prompt
from harness.http_json import post_json
from harness.phone_caller import DIALECTS, PHONE_RATE, PhoneCaller, call_webhook
from harness.pipecat_client import VoiceClient
from harness.speech import QUESTION, speak
from harness.voice_app import VoiceApp, start_voice_app
from harness.webrtc_peer import WEBRTC_RATE, WebRTCCaller, loopback_ice

KEY = "operator-key-for-the-test"
ANSWER_WITHIN = 60.0


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, fake_cli: Path, records: Path
) -> Iterator[VoiceApp]:
    voice_app = start_voice_app(
        tmp_path_factory.mktemp("voice_app"),
        env={
            "VOICE_API_KEY": KEY,
            "VOICE_LLM_CLI": str(fake_cli),
            "FAKE_CLI_RECORD_DIR": str(records),
        },
        module="harness.loopback_voice",  # WebRTC peers on 127.0.0.1, as the test's own
    )
    yield voice_app
    assert voice_app.stop() == 0, voice_app.log()


def refusal(request: Callable[[], object]) -> int:
    """The HTTP status `request` is refused with (its response closed)."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        request()
    refused.value.close()
    return refused.value.code


def prompts_with(records: Path, text: str) -> list[str]:
    return [p for p in map(prompt, cli_records(records)) if text in p]


async def test_a_websocket_call_opens_with_its_token_once_and_the_model_knows_the_visitor(
    app: VoiceApp, records: Path
):
    started = app.start_session("websocket", KEY, {"visitor": "Ann Lee", "plan": "gold"})
    url = f"{started['wsUrl']}?token={started['token']}"

    async with VoiceClient.connect(url) as client:
        await client.wait_for("bot-ready")
        said = await client.say(speak(QUESTION, 16000))
        await client.wait_for("bot-started-speaking", after=said, within=ANSWER_WITHIN)

    [told] = prompts_with(records, "Ann Lee")
    assert '"plan": "gold"' in told.split("<user>")[0]  # in the system part, not the caller's
    for refused_url in (url, started["wsUrl"]):  # used up; and none at all
        with pytest.raises(InvalidStatus) as refused:
            async with VoiceClient.connect(refused_url):
                pass
        assert refused.value.response.status_code == 403


async def test_a_webrtc_call_opens_at_the_offer_url_start_gave(app: VoiceApp):
    started = app.start_session("webrtc", KEY)
    loopback_ice()

    async with WebRTCCaller.dial(app.http_url, started["webrtcRequestParams"]["endpoint"]) as call:
        said = await call.say(speak(QUESTION, WEBRTC_RATE))
        await call.wait_for_speech(after=said, within=ANSWER_WITHIN)

    offer = {"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "type": "offer"}
    for url in (started["webrtcRequestParams"]["endpoint"], f"{app.http_url}/api/offer"):
        assert refusal(functools.partial(post_json, url, offer)) == 401  # used up; no token


async def test_a_phone_call_streams_to_the_url_start_gave(app: VoiceApp):
    started = app.start_session("telnyx", KEY, {"account": "A-17"})

    async with PhoneCaller.dial(
        app.http_url, provider="telnyx", stream_url=started["wsUrl"]
    ) as caller:
        said = await caller.say(speak(QUESTION, PHONE_RATE))
        await caller.wait_for_audio(after=said, within=ANSWER_WITHIN)


def test_start_needs_the_key_and_the_webhook_is_off(app: VoiceApp):
    assert refusal(lambda: app.start_session("websocket", "not-the-key")) == 401
    assert refusal(lambda: call_webhook(app.http_url, DIALECTS["twilio"].new_call_form())) == 403
