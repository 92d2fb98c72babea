"""Which web origins may connect (`--allowed-origins`): CORS for them, 403 for the rest."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from voice.app import create_app
from voice.llm_server import LlmEndpoint
from voice.origins import OriginPolicy
from voice.sessions import CLOSE_FORBIDDEN, CLOSE_TRY_AGAIN_LATER
from voice.settings import Settings

ENDPOINT = LlmEndpoint(base_url="http://127.0.0.1:9/v1", api_key="k")
PORTAL = "https://portal.example"
OTHER = "https://evil.example"
# What a browser sends before a cross-origin POST with a JSON body.
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type",
}


@pytest.fixture(scope="module")
def client() -> TestClient:
    settings = Settings(allowed_origins=(PORTAL,))
    return TestClient(create_app(settings, ENDPOINT), base_url="http://voice.example")


def test_the_policy_lets_in_the_apps_own_origin_and_the_listed_ones():
    policy = OriginPolicy([PORTAL + "/"])
    own = {"host": "voice.example", "origin": "http://voice.example"}

    assert policy.allows(own, "http")
    assert policy.allows({"host": "voice.example", "origin": "http://voice.example"}, "ws")
    assert policy.allows({"host": "voice.example", "origin": PORTAL}, "https")
    assert not policy.allows({"host": "voice.example", "origin": OTHER}, "https")
    assert not policy.allows({"host": "voice.example"}, "https")  # no Origin, list set
    assert OriginPolicy([]).allows({"host": "voice.example", "origin": OTHER}, "https")
    assert not policy.is_cross_origin(own, "http")
    assert not policy.is_cross_origin({"host": "voice.example"}, "http")


def test_an_allowed_origin_gets_cors_on_status_and_the_offer_preflight(client: TestClient):
    status = client.get("/status", headers={"origin": PORTAL})
    preflight = client.options("/api/offer", headers={"origin": PORTAL} | PREFLIGHT)

    assert status.status_code == 200
    assert status.headers["access-control-allow-origin"] == PORTAL
    assert status.headers["vary"] == "Origin"
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == PORTAL
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "content-type"


def test_a_bad_offer_from_an_allowed_origin_still_gets_its_400_with_cors(client: TestClient):
    response = client.post("/api/offer", content=b"{not json", headers={"origin": PORTAL})

    assert response.status_code == 400
    assert response.headers["access-control-allow-origin"] == PORTAL


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/offer"),
        ("PATCH", "/api/offer"),
        ("OPTIONS", "/api/offer"),
        ("POST", "/sessions/abc/api/offer"),
    ],
)
def test_another_origin_gets_403_on_the_offer_routes(client: TestClient, method: str, path: str):
    response = client.request(method, path, json={}, headers={"origin": OTHER} | PREFLIGHT)

    assert response.status_code == 403
    assert response.json()["error"]["message"] == f"origin {OTHER} is not allowed"
    assert "access-control-allow-origin" not in response.headers
    assert client.get("/status").json()["sessions"]["live"] == 0


def test_another_origin_gets_no_cors_headers_elsewhere(client: TestClient):
    status = client.get("/status", headers={"origin": OTHER})
    widget = client.get("/widget.js", headers={"origin": OTHER})

    assert status.status_code == widget.status_code == 200  # a <script src> needs no CORS
    assert "access-control-allow-origin" not in status.headers
    assert "access-control-allow-origin" not in widget.headers


def test_same_origin_requests_need_no_listing(client: TestClient):
    response = client.post(
        "/api/offer", content=b"{not json", headers={"origin": "http://voice.example"}
    )

    assert response.status_code == 400  # reached the route
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("origin", [OTHER, None])
def test_the_websocket_refuses_an_origin_not_allowed(client: TestClient, origin: str | None):
    headers = {"origin": origin} if origin else {}
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/ws-client", headers=headers):
            pass

    assert refused.value.code == CLOSE_FORBIDDEN


def test_the_websocket_takes_the_apps_own_origin_and_a_listed_one():
    settings = Settings(allowed_origins=(PORTAL,), max_sessions=1)
    client = TestClient(create_app(settings, ENDPOINT), base_url="http://voice.example")

    # A phone stream waiting for its `start` holds the one slot, so an accepted websocket is
    # closed with 1013 (no pipeline runs); a refused one never gets past the handshake.
    # TestClient's websockets say `Host: testserver` whatever the base URL.
    with client.websocket_connect("/ws") as holder:
        holder.send_text('{"event": "connected"}')
        for origin in (PORTAL, "http://testserver"):
            with client.websocket_connect("/ws-client", headers={"origin": origin}) as ws:
                assert ws.receive()["code"] == CLOSE_TRY_AGAIN_LATER
