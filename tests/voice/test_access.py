"""Auth on every channel (`voice.access`): with `--api-key` set, `/ws-client`, the phone
stream and `/api/offer` open only with a session token for that channel, minted by this
deployment's secret, unexpired and unused; `POST /` is off without a way to check it. A
refused request starts nothing. (Good tokens carrying whole calls: test_auth_end_to_end.py;
WebRTC peers: test_webrtc.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from loguru import logger
from starlette.websockets import WebSocketDisconnect

from voice.access import Access, bearer, token_of
from voice.app import create_app
from voice.llm_server import LlmEndpoint
from voice.session_token import SessionTokens
from voice.sessions import CLOSE_FORBIDDEN, CLOSE_POLICY_VIOLATION
from voice.settings import Settings

ENDPOINT = LlmEndpoint(base_url="http://127.0.0.1:9/v1", api_key="k")
SECRET = "shared-secret-" * 3
AUTH_ON = Settings(api_key="operator-key", session_secret=SECRET)
# An offer parse_offer takes and aiortc cannot answer: past the token check, no peer made.
UNANSWERABLE = {"sdp": "v=0\r\nm=audio 9 x\r\n", "type": "offer"}


def mint(use: str, secret: str = SECRET, ttl: float = 60) -> str:
    return SessionTokens(secret.encode(), ttl=ttl).mint(use)


# (what is wrong, the token for `use`, the reason the app logs)
BAD_TOKENS = [
    ("missing", lambda use: "", "missing"),
    ("expired", lambda use: mint(use, ttl=-5), "expired"),
    ("forged", lambda use: mint(use, secret="another deployment"), "not signed"),
    ("malformed", lambda use: "abc.def", "not signed"),
    ("oversized", lambda use: "a" * 5000, "over 4096 characters"),
    ("other channel", lambda use: mint("webrtc" if use != "webrtc" else "phone"), "for '"),
]


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(AUTH_ON, ENDPOINT))


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    """The app's warning lines while the test runs."""
    lines: list[str] = []
    sink = logger.add(lines.append, level="WARNING", format="{message}")
    yield lines
    logger.remove(sink)


@pytest.mark.parametrize(("case", "token", "why"), BAD_TOKENS, ids=[c[0] for c in BAD_TOKENS])
def test_the_websocket_refuses_a_bad_token_with_4003(client, case, token, why, warnings):
    path = f"/ws-client?token={token('websocket')}" if token("websocket") else "/ws-client"

    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(path):
            pass

    assert refused.value.code == CLOSE_FORBIDDEN
    assert any(f"websocket refused: its session token is {why}" in w for w in warnings)
    assert client.get("/status").json()["sessions"]["live"] == 0


@pytest.mark.parametrize(("case", "token", "why"), BAD_TOKENS, ids=[c[0] for c in BAD_TOKENS])
def test_the_phone_stream_refuses_a_bad_token_with_4003(client, case, token, why, warnings):
    given = token("phone")

    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(f"/ws/{given}" if given else "/ws"):
            pass

    assert refused.value.code == CLOSE_FORBIDDEN
    assert any(f"call stream refused: its session token is {why}" in w for w in warnings)


@pytest.mark.parametrize(("case", "token", "why"), BAD_TOKENS, ids=[c[0] for c in BAD_TOKENS])
def test_an_offer_with_a_bad_token_is_a_401(client, case, token, why):
    given = token("webrtc")
    in_path = client.post(
        f"/sessions/{given}/api/offer" if given else "/api/offer", json=UNANSWERABLE
    )
    as_bearer = client.post(
        "/api/offer", json=UNANSWERABLE, headers={"authorization": f"Bearer {given}"}
    )

    for refused in (in_path, as_bearer):
        assert refused.status_code == 401, refused.text
        assert refused.headers["www-authenticate"] == "Bearer"
        assert why in refused.json()["error"]["message"]


def test_a_good_token_gets_past_the_check_on_every_channel(client):
    offer = client.post(f"/sessions/{mint('webrtc')}/api/offer", json=UNANSWERABLE)
    assert offer.status_code == 400 and "could not be answered" in offer.text

    phone = mint("phone")
    with client.websocket_connect(f"/ws/{phone}") as ws:  # accepted: now it wants a call
        ws.send_text('{"event": "connected"}')
        ws.send_text('{"event": "stop"}')
        closed = ws.receive()
    assert closed["code"] == CLOSE_POLICY_VIOLATION

    with pytest.raises(WebSocketDisconnect) as reused:
        with client.websocket_connect(f"/ws/{phone}"):
            pass
    assert reused.value.code == CLOSE_FORBIDDEN


def test_an_offer_that_fails_gives_its_token_back(client):
    token = mint("webrtc")

    first = client.post(f"/sessions/{token}/api/offer", json=UNANSWERABLE)
    again = client.post(f"/sessions/{token}/api/offer", json=UNANSWERABLE)

    assert (first.status_code, again.status_code) == (400, 400)  # never 401 "already used"


def test_a_patch_for_a_peer_the_token_did_not_open_is_refused(client):
    patch = {"pc_id": "nobody", "candidates": []}

    unknown = client.patch(f"/sessions/{mint('webrtc')}/api/offer", json=patch)

    assert unknown.status_code == 400 and "no peer connection" in unknown.text


def test_instances_sharing_a_secret_take_each_others_tokens():
    first = TestClient(create_app(AUTH_ON, ENDPOINT))
    second = TestClient(create_app(AUTH_ON, ENDPOINT))
    other = TestClient(create_app(Settings(api_key="operator-key"), ENDPOINT))  # own secret
    key = {"authorization": "Bearer operator-key"}

    minted = first.post("/start", json={"transport": "twilio"}, headers=key).json()["token"]
    with second.websocket_connect(f"/ws/{minted}") as ws:
        ws.send_text('{"event": "stop"}')
        assert ws.receive()["code"] == CLOSE_POLICY_VIOLATION

    again = first.post("/start", json={"transport": "twilio"}, headers=key).json()["token"]
    with pytest.raises(WebSocketDisconnect) as refused:
        with other.websocket_connect(f"/ws/{again}"):
            pass
    assert refused.value.code == CLOSE_FORBIDDEN


def test_with_auth_on_and_no_twilio_token_the_webhook_is_off(client):
    refused = client.post("/", data={"CallSid": "CA1", "From": "+15550001111"})

    assert refused.status_code == 403
    assert "POST /start" in refused.text


def test_without_auth_a_channel_needs_no_token_but_a_good_one_carries_the_body():
    access = Access(Settings(session_secret=SECRET))
    token = SessionTokens(SECRET.encode(), ttl=60).mint("websocket", {"visitor": "Ann"})

    assert access.admit("", "websocket") is None
    assert access.admit(mint("websocket", secret="another"), "websocket") is None
    assert access.admit(token, "websocket").body == {"visitor": "Ann"}
    assert access.admit(token, "websocket") is None  # used: the session is anonymous


def test_a_twilio_auth_token_alone_locks_the_phone_stream_only():
    access = Access(Settings(twilio_auth_token="t", session_secret=SECRET))

    assert access.admit("", "websocket") is None
    with pytest.raises(Exception, match="missing"):
        access.admit("", "phone")


def test_the_token_is_found_where_the_runner_looks():
    assert token_of({}, {}, "in-path") == "in-path"
    assert token_of({"authorization": "Bearer abc"}, {"token": "q"}, None) == "abc"
    assert token_of({}, {"token": "q"}, None) == "q"
    assert token_of({"authorization": "Basic abc"}, {}, None) == ""
    assert bearer("bearer  xyz ") == "xyz" and bearer("Bearer") is None and bearer(None) is None


def test_the_operator_key_is_compared_whole():
    access = Access(AUTH_ON)

    assert access.is_key("Bearer operator-key")
    assert not access.is_key("Bearer operator-ke")
    assert not access.is_key("Bearer operator-key2")
    assert not Access(Settings()).is_key("Bearer ")
