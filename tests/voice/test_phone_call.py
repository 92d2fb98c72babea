"""A phone call's serializer: garbage ends the call; hang-up only with Twilio credentials."""

from __future__ import annotations

import json

import pytest
from pipecat.frames.frames import InterruptionFrame

from voice.phone_call import PhoneCall, PhoneFrameSerializer, serializer_for
from voice.settings import Settings
from voice.wire_format import ClientInputError

CALL = PhoneCall(provider="twilio", stream_id="MZ1", call_id="CA1")


@pytest.mark.parametrize(
    ("message", "rejection"),
    [("{not json", "9 characters that are not JSON"), ("[1]", "a JSON list")],
)
async def test_a_message_that_is_not_an_event_ends_the_call(message: str, rejection: str):
    serializer = serializer_for(CALL, Settings())

    with pytest.raises(ClientInputError):
        await serializer.deserialize(message)

    assert serializer.rejection and serializer.rejection.startswith(rejection)


async def test_marks_and_unknown_events_are_ignored():
    serializer = serializer_for(CALL, Settings())

    assert (
        await serializer.deserialize(json.dumps({"event": "mark", "mark": {"name": "x"}})) is None
    )
    assert await serializer.deserialize(json.dumps({"event": "new-kind"})) is None
    assert serializer.rejection is None


async def test_an_interruption_clears_twilios_buffer():
    serializer = serializer_for(CALL, Settings())

    assert json.loads(await serializer.serialize(InterruptionFrame())) == {
        "event": "clear",
        "streamSid": "MZ1",
    }


def test_hangs_up_only_with_both_credentials():
    with_both = Settings(twilio_account_sid="AC1", twilio_auth_token="secret")
    only_sid = Settings(twilio_account_sid="AC1")

    assert isinstance(serializer_for(CALL, with_both), PhoneFrameSerializer)
    assert serializer_for(CALL, with_both)._params.auto_hang_up
    assert not serializer_for(CALL, only_sid)._params.auto_hang_up
    assert not serializer_for(CALL, Settings())._params.auto_hang_up
    assert "secret" not in repr(with_both)
