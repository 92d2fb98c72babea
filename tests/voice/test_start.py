"""`POST /start`: the operator key, the rate limit, bad requests, and what it answers for each
channel (the shapes Pipecat's runner and JS transports take)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from voice.app import create_app
from voice.llm_server import LlmEndpoint
from voice.session_token import SessionTokens
from voice.settings import Settings
from voice.start import MAX_BODY_BYTES, MAX_REQUEST_BYTES

ENDPOINT = LlmEndpoint(base_url="http://127.0.0.1:9/v1", api_key="k")
SECRET = "s" * 32
KEY = {"authorization": "Bearer operator-key"}


def app_client(**settings: object) -> TestClient:
    defaults: dict[str, object] = {"api_key": "operator-key", "session_secret": SECRET}
    return TestClient(
        create_app(Settings(**(defaults | settings)), ENDPOINT), base_url="https://voice.example"
    )


def grant_in(token: str, use: str):
    return SessionTokens(SECRET.encode(), ttl=60).redeem(token, use)


def test_a_websocket_start_answers_the_ws_url_and_a_token_with_the_body():
    started = app_client().post(
        "/start", json={"transport": "websocket", "body": {"visitor": "Ann"}}, headers=KEY
    )

    assert started.status_code == 200, started.text
    answer = started.json()
    assert answer["wsUrl"] == "wss://voice.example/ws-client"
    assert set(answer) == {"wsUrl", "token"}  # what @pipecat-ai/websocket-transport accepts
    assert grant_in(answer["token"], "websocket").body == {"visitor": "Ann"}
    assert started.headers["cache-control"] == "no-store"


def test_a_webrtc_start_answers_the_offer_url_with_the_token_in_its_path():
    ice = ({"urls": "turn:turn.example:3478", "username": "u", "credential": "c"},)
    answer = app_client(ice_servers=ice).post("/start", headers=KEY).json()  # webrtc by default

    token = answer["sessionId"]
    assert answer["webrtcRequestParams"] == {
        "endpoint": f"https://voice.example/sessions/{token}/api/offer"
    }
    assert answer["iceConfig"] == {"iceServers": [ice[0]]}
    assert grant_in(token, "webrtc").body == {}


@pytest.mark.parametrize("provider", ["twilio", "telnyx", "plivo"])
def test_a_phone_start_answers_the_stream_url_with_the_token_in_its_path(provider: str):
    answer = (
        app_client(public_url="calls.example")
        .post("/start", json={"transport": provider}, headers=KEY)
        .json()
    )

    assert answer["wsUrl"] == f"wss://calls.example/ws/{answer['token']}"
    assert grant_in(answer["token"], "phone").use == "phone"


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, {"authorization": "operator-key"}, {"x-api-key": "k"}],
)
def test_without_the_operator_key_nothing_is_minted(headers: dict[str, str]):
    refused = app_client().post("/start", json={"transport": "websocket"}, headers=headers)

    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert "operator key" in refused.json()["error"]["message"]
    assert "token" not in refused.json()


def test_without_auth_start_is_open_and_still_mints():
    answer = app_client(api_key=None).post("/start", json={"transport": "websocket"}).json()

    assert grant_in(answer["token"], "websocket").use == "websocket"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "the request is not JSON"),
        (b"[1]", "the request must be a JSON object"),
        (b'{"transport": "daily"}', "'transport' must be one of webrtc, websocket, twilio"),
        (b'{"transport": 1}', "'transport' must be one of"),
        (b'{"body": "Ann"}', "'body' must be a JSON object"),
        (b'{"body": [1, 2]}', "'body' must be a JSON object"),
        (b'{"body": {"x": "' + b"a" * MAX_BODY_BYTES + b'"}}', f"over {MAX_BODY_BYTES} bytes"),
        (b" " * (MAX_REQUEST_BYTES + 1), f"the request is over {MAX_REQUEST_BYTES} bytes"),
    ],
)
def test_a_bad_request_is_a_400_saying_why(body: bytes, message: str):
    refused = app_client().post("/start", content=body, headers=KEY)

    assert refused.status_code == 400
    assert message in refused.json()["error"]["message"]


def test_each_client_address_is_rate_limited_keyed_or_not():
    client = app_client(start_rate_limit=3)

    codes = [client.post("/start", headers=h).status_code for h in (KEY, {}, KEY, KEY)]

    assert codes == [200, 401, 200, 429]
    limited = client.post("/start", headers=KEY)
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 20
    assert "too many /start requests" in limited.json()["error"]["message"]


def test_status_says_whether_auth_is_on():
    assert app_client().get("/status").json()["auth"] == "token"
    assert app_client(api_key=None).get("/status").json()["auth"] == "none"
