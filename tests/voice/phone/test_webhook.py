"""What `POST /` answers a call with (TwiML, TeXML, Plivo XML), and the stream URL in it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from voice.phone.webhook import call_answer, provider_of, stream_url, webhook_url


@pytest.mark.parametrize(
    ("public_url", "headers", "scheme", "expected"),
    [
        ("voice.example", {"host": "127.0.0.1:7860"}, "http", "wss://voice.example/ws"),
        ("https://voice.example/agent/", {}, "http", "wss://voice.example/agent/ws"),
        ("http://127.0.0.1:9000", {}, "http", "ws://127.0.0.1:9000/ws"),
        (None, {"host": "voice.example"}, "http", "wss://voice.example/ws"),
        (None, {"host": "127.0.0.1:7860"}, "http", "ws://127.0.0.1:7860/ws"),
        (None, {"host": "localhost:7860"}, "https", "wss://localhost:7860/ws"),
        (
            None,
            {"host": "127.0.0.1:7860", "x-forwarded-host": "abc.ngrok.app"},
            "http",
            "wss://abc.ngrok.app/ws",
        ),
        (
            None,
            {"host": "127.0.0.1:7860", "x-forwarded-proto": "http"},
            "http",
            "ws://127.0.0.1:7860/ws",
        ),
        (
            None,
            {"host": "127.0.0.1:7860", "x-forwarded-proto": "https, http"},
            "http",
            "wss://127.0.0.1:7860/ws",
        ),
        (
            None,
            {"host": "a", "x-forwarded-host": "edge.example, inner", "x-forwarded-proto": "http"},
            "http",
            "ws://edge.example/ws",
        ),
    ],
)
def test_stream_url(public_url, headers, scheme, expected):
    assert stream_url(public_url, headers, scheme) == expected


def test_a_token_goes_in_the_stream_path():
    assert stream_url("voice.example", {}, "http", "abc.def") == "wss://voice.example/ws/abc.def"


def test_connects_a_bidirectional_stream_with_escaped_parameters():
    xml = call_answer("twilio", "wss://voice.example/ws", {"From": '+1 "<555>" & co', "To": "+2"})

    root = ET.fromstring(xml)
    [stream] = root.findall("./Connect/Stream")
    assert root.find("Start") is None
    assert stream.get("url") == "wss://voice.example/ws"
    assert {p.get("name"): p.get("value") for p in stream} == {
        "From": '+1 "<555>" & co',
        "To": "+2",
    }


def test_the_webhook_url_twilio_signed_has_the_same_host():
    proxy = {"host": "127.0.0.1:7860", "x-forwarded-host": "abc.ngrok.app"}

    assert webhook_url(None, proxy, "http", "/?a=1") == "https://abc.ngrok.app/?a=1"
    assert webhook_url("http://127.0.0.1:9", {}, "http", "/") == "http://127.0.0.1:9/"
    assert webhook_url(None, {"host": "localhost:7860"}, "http", "/") == "http://localhost:7860/"


def test_telnyx_gets_texml_with_an_rtp_stream_back():
    [stream] = ET.fromstring(call_answer("telnyx", "wss://v.example/ws", {"From": "+1"})).findall(
        "./Connect/Stream"
    )

    assert stream.get("url") == "wss://v.example/ws"
    assert stream.get("bidirectionalMode") == "rtp"


def test_plivo_gets_a_bidirectional_mulaw_stream():
    [stream] = ET.fromstring(call_answer("plivo", "wss://v.example/ws?a=1&b=2", {})).findall(
        "./Stream"
    )

    assert stream.text == "wss://v.example/ws?a=1&b=2"
    assert stream.get("bidirectional") == "true"
    assert stream.get("keepCallAlive") == "true"
    assert stream.get("contentType") == "audio/x-mulaw;rate=8000"


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"CallSid": "CA1", "AccountSid": "AC1"}, "twilio"),
        ({"CallSid": "v3:abc", "AccountSid": "f55865"}, "telnyx"),
        ({"CallSid": "x", "ConnectionId": "123"}, "telnyx"),
        ({"CallUUID": "8e2c", "From": "1555"}, "plivo"),
        ({"From": "+1"}, "the default"),
    ],
)
def test_the_provider_is_read_from_the_webhook_form(form, expected):
    assert provider_of(form, "the default") == expected
