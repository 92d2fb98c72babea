"""The web app's routes, without running a voice session."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from voice.app import create_app
from voice.llm_server import LlmEndpoint
from voice.phone.signature import signature
from voice.sessions import (
    CLOSE_FORBIDDEN,
    CLOSE_POLICY_VIOLATION,
    CLOSE_TRY_AGAIN_LATER,
    SessionSlots,
)
from voice.settings import Settings

ENDPOINT = LlmEndpoint(base_url="http://127.0.0.1:9/v1", api_key="k")


def test_status_follows_the_runner_route():
    client = TestClient(create_app(Settings(max_sessions=3), ENDPOINT))

    body = client.get("/status").json()

    assert body == {
        "status": "ready",
        "transports": ["websocket", "webrtc", "twilio", "telnyx", "plivo"],
        "websocket": "/ws-client",
        "webrtc": "/api/offer",
        "widget": "/widget.js",
        "calls": None,
        "phone": {
            "webhook": "POST /",
            "websocket": "/ws",
            "providers": ["twilio", "telnyx", "plivo"],
        },
        "sessions": {"live": 0, "limit": 3},
        "start": "POST /start",
        "auth": "none",
    }


def test_refuses_a_websocket_from_an_origin_not_allowed():
    settings = Settings(allowed_origins=("https://ours.example",))
    client = TestClient(create_app(settings, ENDPOINT))

    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/ws-client", headers={"origin": "https://evil.example"}):
            pass

    assert refused.value.code == CLOSE_FORBIDDEN


def test_session_slots_count_against_the_limit():
    slots = SessionSlots(2)

    assert slots.take() and slots.take()
    assert not slots.take()
    slots.give_back()
    assert slots.take()
    assert slots.live == 2


CALL_FORM = {"CallSid": "CA1", "AccountSid": "AC1", "From": "+15550001111", "To": "+15550002222"}


def _stream(
    client: TestClient, headers: dict[str, str] | None = None, path: str = "/"
) -> ET.Element:
    response = client.post(path, data=CALL_FORM, headers=headers or {})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    [stream] = ET.fromstring(response.text).findall("./Connect/Stream")
    return stream


def test_the_call_webhook_connects_the_call_to_the_stream_route():
    client = TestClient(create_app(Settings(), ENDPOINT), base_url="https://voice.example")

    stream = _stream(client)

    assert stream.get("url") == "wss://voice.example/ws"
    assert {p.get("name"): p.get("value") for p in stream} == {
        "From": "+15550001111",
        "To": "+15550002222",
        "CallSid": "CA1",
    }


def test_the_stream_url_follows_the_proxy_or_the_public_url():
    behind_proxy = TestClient(create_app(Settings(), ENDPOINT))
    public = TestClient(create_app(Settings(public_url="calls.example"), ENDPOINT))
    proxy = {"x-forwarded-host": "abc.ngrok.app", "x-forwarded-proto": "https"}

    assert _stream(behind_proxy, proxy).get("url") == "wss://abc.ngrok.app/ws"
    assert _stream(public, proxy).get("url") == "wss://calls.example/ws"


def test_a_stream_that_does_not_start_a_call_is_closed():
    client = TestClient(create_app(Settings(), ENDPOINT))

    with client.websocket_connect("/ws") as ws:
        ws.send_text("{not json")
        ws.send_text('{"event": "connected"}')
        closed = ws.receive()

    assert closed["type"] == "websocket.close"
    assert closed["code"] == CLOSE_POLICY_VIOLATION
    assert "no Twilio, Telnyx or Plivo start message" in closed["reason"]


def test_with_an_auth_token_only_signed_webhooks_are_answered():
    settings = Settings(twilio_account_sid="AC1", twilio_auth_token="token")
    client = TestClient(create_app(settings, ENDPOINT), base_url="https://voice.example")
    signed = signature("token", "https://voice.example/?x=1", CALL_FORM.items())

    good = client.post("/?x=1", data=CALL_FORM, headers={"x-twilio-signature": signed})
    tampered = client.post(
        "/?x=1", data=CALL_FORM | {"From": "+1999"}, headers={"x-twilio-signature": signed}
    )
    unsigned = client.post("/?x=1", data=CALL_FORM)

    assert good.status_code == 200 and "<Connect>" in good.text
    assert (tampered.status_code, unsigned.status_code) == (403, 403)


def test_the_signed_url_is_the_public_one_behind_a_proxy():
    settings = Settings(twilio_auth_token="token")
    client = TestClient(create_app(settings, ENDPOINT))  # plain http on "testserver"
    proxy = {"x-forwarded-host": "abc.ngrok.app", "x-forwarded-proto": "https"}
    signed = signature("token", "https://abc.ngrok.app/", CALL_FORM.items())

    answered = client.post("/", data=CALL_FORM, headers=proxy | {"x-twilio-signature": signed})

    assert answered.status_code == 200


def test_calls_count_against_the_session_limit():
    client = TestClient(create_app(Settings(max_sessions=1), ENDPOINT))

    with client.websocket_connect("/ws") as first:  # holds the slot while it waits for `start`
        first.send_text('{"event": "connected"}')
        with client.websocket_connect("/ws") as second:
            refused = second.receive()
        with client.websocket_connect("/ws-client") as third:
            also_refused = third.receive()

    assert (refused["code"], also_refused["code"]) == (CLOSE_TRY_AGAIN_LATER,) * 2
    assert client.get("/status").json()["sessions"]["live"] == 0


def test_a_signed_webhook_puts_a_one_time_token_in_the_stream_url():
    settings = Settings(twilio_auth_token="token")
    client = TestClient(create_app(settings, ENDPOINT), base_url="https://voice.example")
    signed = {"x-twilio-signature": signature("token", "https://voice.example/", CALL_FORM.items())}
    url = _stream(client, signed).get("url") or ""
    path = url.removeprefix("wss://voice.example")

    assert path.startswith("/ws/") and len(path) > len("/ws/") + 40
    with client.websocket_connect(path) as ws:  # the token opens the stream once ...
        ws.send_text('{"event": "connected"}')
        ws.send_text("{}")
        assert ws.receive()["code"] == CLOSE_POLICY_VIOLATION  # (and that stream is no call)
    for refused_path in (path, "/ws", "/ws/forged.0000"):  # ... and never again
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect(refused_path):
                pass
        assert refused.value.code == CLOSE_FORBIDDEN, refused_path


def test_without_an_auth_token_the_stream_needs_no_token_and_start_up_warns():
    from loguru import logger

    lines: list[str] = []
    sink = logger.add(lines.append, level="WARNING")
    try:
        client = TestClient(create_app(Settings(), ENDPOINT), base_url="https://voice.example")
    finally:
        logger.remove(sink)

    assert _stream(client).get("url") == "wss://voice.example/ws"
    assert any("POST / and /ws are unauthenticated" in line for line in lines)


@pytest.mark.parametrize(
    ("form", "settings", "expected"),
    [
        ({"CallUUID": "8e2c", "From": "1555"}, Settings(), "./Stream"),
        ({"CallSid": "v3:abc", "From": "+1"}, Settings(), "./Connect/Stream[@bidirectionalMode]"),
        ({"From": "+1"}, Settings(telephony="plivo"), "./Stream"),
        ({"From": "+1"}, Settings(), "./Connect/Stream"),
    ],
)
def test_the_webhook_answers_in_the_providers_xml(form, settings, expected):
    client = TestClient(create_app(settings, ENDPOINT), base_url="https://voice.example")

    answer = client.post("/", data=form)

    assert answer.status_code == 200
    assert len(ET.fromstring(answer.text).findall(expected)) == 1, answer.text
