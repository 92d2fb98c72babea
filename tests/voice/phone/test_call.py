"""A phone call's serializer: held to its provider's protocol, marks, clear, hang-up."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
from aiohttp import web
from pipecat.frames.frames import (
    EndFrame,
    InputAudioRawFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
)
from pipecat.tests.utils import run_test

from voice.phone.call import (
    CallRefused,
    PhoneCall,
    PlivoCallSerializer,
    TelnyxCallSerializer,
    TwilioCallSerializer,
    serializer_for,
)
from voice.phone.marks import PlaybackMarks
from voice.settings import Settings
from voice.wire_format import ClientInputError

TWILIO = PhoneCall(provider="twilio", stream_id="MZ1", call_id="CA1")
TELNYX = PhoneCall(provider="telnyx", stream_id="st-1", call_id="v3:1")
PLIVO = PhoneCall(provider="plivo", stream_id="pl-1", call_id="uuid-1")
SILENCE = base64.b64encode(b"\xff" * 160).decode()


async def ready(call: PhoneCall, settings: Settings | None = None, rate: int = 16000):
    serializer = serializer_for(call, settings or Settings())
    # What the input transport hands a serializer: the pipeline's input rate.
    await serializer.setup(SimpleNamespace(audio_in_sample_rate=rate))  # type: ignore[arg-type]
    return serializer


@pytest.mark.parametrize(
    ("call", "kind"),
    [(TWILIO, TwilioCallSerializer), (TELNYX, TelnyxCallSerializer), (PLIVO, PlivoCallSerializer)],
)
def test_each_provider_gets_its_own_serializer(call, kind):
    assert type(serializer_for(call, Settings())) is kind


@pytest.mark.parametrize(
    ("message", "rejection"),
    [
        ("{not json", "9 characters that are not JSON"),
        ("[1]", "a JSON list"),
        ('{"event": "new-kind"}', "an unknown event 'new-kind'"),
        ('{"media": {}}', "an unknown event 'None'"),
        ('{"event": "media", "media": {"payload": "not base64!"}}', "a media payload that is not"),
        (
            json.dumps(
                {"event": "media", "media": {"payload": base64.b64encode(b"\xff" * 100).decode()}}
            ),
            "a 100-byte media payload: not whole 20 ms frames of 160 bytes",
        ),
    ],
)
async def test_a_message_outside_twilios_protocol_ends_the_call(message: str, rejection: str):
    serializer = await ready(TWILIO)

    with pytest.raises(ClientInputError):
        await serializer.deserialize(message)

    assert serializer.rejection and serializer.rejection.startswith(rejection)


async def frames_from(serializer, payload: str, count: int = 10) -> list:
    """What `count` media messages with `payload` decode to (the resampler holds back the
    first few milliseconds)."""
    message = json.dumps({"event": "media", "media": {"payload": payload}})
    return [f for _ in range(count) if (f := await serializer.deserialize(message))]


@pytest.mark.parametrize("call", [TWILIO, TELNYX, PLIVO])
async def test_media_in_becomes_16_khz_audio(call):
    serializer = await ready(call)

    frames = await frames_from(serializer, SILENCE)

    assert frames and all(isinstance(f, InputAudioRawFrame) for f in frames)
    assert {f.sample_rate for f in frames} == {16000}
    assert serializer.rejection is None


@pytest.mark.parametrize("call", [TWILIO, TELNYX, PLIVO])
async def test_at_the_phones_own_8_khz_every_frame_passes_at_once_both_ways(call):
    """What a phone session runs at (`voice.transports.PHONE_RATES`): no resampler delay."""
    serializer = await ready(call, rate=8000)
    bot = OutputAudioRawFrame(audio=b"\x00\x10" * 160, sample_rate=8000, num_channels=1)

    [caller] = await frames_from(serializer, SILENCE, count=1)
    sent = json.loads(await serializer.serialize(bot))

    assert caller.sample_rate == 8000 and len(caller.audio) == 320
    assert len(base64.b64decode(sent["media"]["payload"])) == 160


async def test_plivo_audio_need_not_come_in_20_ms_frames():
    serializer = await ready(PLIVO)

    frames = await frames_from(serializer, base64.b64encode(b"\xff" * 100).decode())

    assert frames and serializer.rejection is None


@pytest.mark.parametrize(
    ("call", "clear"),
    [
        (TWILIO, {"event": "clear", "streamSid": "MZ1"}),
        (TELNYX, {"event": "clear"}),
        (PLIVO, {"event": "clearAudio", "streamId": "pl-1"}),
    ],
)
async def test_an_interruption_clears_the_providers_buffer(call, clear):
    serializer = await ready(call)

    assert json.loads(await serializer.serialize(InterruptionFrame())) == clear


@pytest.mark.parametrize(
    ("call", "mark", "echo"),
    [
        (
            TWILIO,
            {"event": "mark", "streamSid": "MZ1", "mark": {"name": "u-1"}},
            {"event": "mark", "streamSid": "MZ1", "mark": {"name": "u-1"}},
        ),
        (
            TELNYX,
            {"event": "mark", "mark": {"name": "u-1"}},
            {"event": "mark", "stream_id": "st-1", "mark": {"name": "u-1"}},
        ),
        (
            PLIVO,
            {"event": "checkpoint", "streamId": "pl-1", "name": "u-1"},
            {"event": "playedStream", "streamId": "pl-1", "name": "u-1"},
        ),
    ],
)
async def test_marks_go_out_in_the_providers_words_and_echoes_are_kept(call, mark, echo):
    serializer = await ready(call)

    sent = await serializer.serialize(
        OutputTransportMessageFrame(message=serializer.mark_message("u-1"))
    )
    assert json.loads(sent) == mark
    assert await serializer.deserialize(json.dumps(echo)) is None
    assert serializer.heard == ["u-1"]
    assert serializer.rejection is None


async def test_a_mark_follows_each_utterances_audio():
    serializer = await ready(TWILIO)
    audio = TTSAudioRawFrame(audio=b"\x00\x00" * 240, sample_rate=24000, num_channels=1)

    down, _ = await run_test(
        PlaybackMarks(serializer),
        frames_to_send=[audio, TTSStoppedFrame(), audio, TTSStoppedFrame()],
        expected_down_frames=[
            TTSAudioRawFrame,
            TTSStoppedFrame,
            OutputTransportMessageFrame,
            TTSAudioRawFrame,
            TTSStoppedFrame,
            OutputTransportMessageFrame,
        ],
    )

    names = [f.message["mark"]["name"] for f in down if isinstance(f, OutputTransportMessageFrame)]
    assert names == ["utterance-1", "utterance-2"]


def test_hangs_up_only_with_the_providers_credentials():
    with_both = Settings(twilio_account_sid="AC1", twilio_auth_token="secret")
    only_sid = Settings(twilio_account_sid="AC1")

    assert serializer_for(TWILIO, with_both)._params.auto_hang_up
    assert not serializer_for(TWILIO, only_sid)._params.auto_hang_up
    assert not serializer_for(TWILIO, Settings())._params.auto_hang_up
    assert serializer_for(TELNYX, Settings(telnyx_api_key="k"))._params.auto_hang_up
    assert not serializer_for(TELNYX, with_both)._params.auto_hang_up
    assert serializer_for(
        PLIVO, Settings(plivo_auth_id="a", plivo_auth_token="t")
    )._params.auto_hang_up
    assert not serializer_for(PLIVO, Settings(plivo_auth_id="a"))._params.auto_hang_up
    assert "secret" not in repr(with_both)


def test_telnyx_audio_in_a_codec_other_than_mulaw_or_alaw_is_refused():
    with pytest.raises(CallRefused, match="'OPUS'"):
        serializer_for(PhoneCall("telnyx", "st-1", "v3:1", encoding="OPUS"), Settings())


async def test_the_bot_ending_the_call_hangs_up_through_twilios_api(unused_tcp_port: int):
    """Against a local stand-in for Twilio's REST API, through TWILIO_API_BASE_URL."""
    posted: list[tuple[str, str | None, dict]] = []

    async def update_call(request: web.Request) -> web.Response:
        posted.append(
            (request.path, request.headers.get("Authorization"), dict(await request.post()))
        )
        return web.json_response({"sid": request.match_info["call"], "status": "completed"})

    api = web.Application()
    api.router.add_post("/2010-04-01/Accounts/{account}/Calls/{call}.json", update_call)
    runner = web.AppRunner(api)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    try:
        settings = Settings(
            twilio_account_sid="AC1",
            twilio_auth_token="secret",
            twilio_api_base_url=f"http://127.0.0.1:{unused_tcp_port}",
        )
        serializer = await ready(TWILIO, settings)
        assert await serializer.serialize(EndFrame()) is None
    finally:
        await runner.cleanup()

    expected_auth = "Basic " + base64.b64encode(b"AC1:secret").decode()
    assert posted == [
        ("/2010-04-01/Accounts/AC1/Calls/CA1.json", expected_auth, {"Status": "completed"})
    ]
