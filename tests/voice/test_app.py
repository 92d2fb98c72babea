"""The web app's routes, without running a voice session."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from voice.app import CLOSE_FORBIDDEN, SessionSlots, create_app
from voice.llm_server import LlmEndpoint
from voice.settings import Settings

ENDPOINT = LlmEndpoint(base_url="http://127.0.0.1:9/v1", api_key="k")


def test_status_follows_the_runner_route():
    client = TestClient(create_app(Settings(max_sessions=3), ENDPOINT))

    body = client.get("/status").json()

    assert body == {
        "status": "ready",
        "transports": ["websocket"],
        "websocket": "/ws-client",
        "sessions": {"live": 0, "limit": 3},
    }
    assert client.get("/").json() == body


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
