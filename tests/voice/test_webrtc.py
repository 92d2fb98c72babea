"""`/api/offer` with a real aiortc peer's offers: answers, the session limit, bad input.

On loopback only: aioice leaves 127.0.0.1 out of its host candidates (patched back in), and
an aiortc peer's default configuration names a public STUN server (none here).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import aioice.ice
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from fastapi.testclient import TestClient

from voice import webrtc
from voice.app import create_app
from voice.llm_server import LlmEndpoint
from voice.settings import Settings

ENDPOINT = LlmEndpoint(base_url="http://127.0.0.1:9/v1", api_key="k")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


async def an_offer() -> tuple[RTCPeerConnection, dict]:
    """A peer that sends and receives audio, and its offer as the JS client posts it."""
    peer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    peer.addTransceiver("audio", direction="sendrecv")
    await peer.setLocalDescription(await peer.createOffer())
    offer = peer.localDescription
    return peer, {"sdp": offer.sdp, "type": offer.type, "requestData": {"who": "test"}}


async def connected(peer: RTCPeerConnection, within: float = 10.0) -> None:
    """Wait for ICE and DTLS over loopback to connect `peer`."""
    deadline = time.monotonic() + within
    while peer.connectionState != "connected":
        assert time.monotonic() < deadline, f"still {peer.connectionState} after {within:g} s"
        await asyncio.sleep(0.1)


async def live_sessions(client: TestClient, *, settle_at: int, within: float = 10.0) -> int:
    """The app's live session count, once it is `settle_at` or `within` seconds have passed."""
    deadline = time.monotonic() + within
    while (live := client.get("/status").json()["sessions"]["live"]) != settle_at:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    return live


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(max_sessions=1), ENDPOINT)) as test_client:
        yield test_client


def test_an_offer_gets_an_answer_and_a_session_until_the_peer_leaves(client: TestClient):
    async def scenario() -> None:
        peer, offer = await an_offer()
        answered = client.post("/api/offer", json=offer)
        assert answered.status_code == 200, answered.text
        answer = answered.json()
        assert answer["type"] == "answer" and answer["pc_id"]
        assert "m=audio" in answer["sdp"]
        await peer.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await connected(peer)
        assert client.get("/status").json()["sessions"]["live"] == 1

        # The limit is one: a second peer is refused, with a JSON error.
        other, second = await an_offer()
        refused = client.post("/api/offer", json=second)
        assert refused.status_code == 429
        assert "voice sessions are in use" in refused.json()["error"]["message"]
        await other.close()

        await peer.close()
        assert await live_sessions(client, settle_at=0) == 0  # the session ends with the peer

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "the body is not JSON"),
        (b"[1]", "the body must be a JSON object"),
        (b'{"sdp": "v=0\\r\\nm=audio"}', "'type' must be \"offer\", not None"),
        (b'{"sdp": "hello", "type": "offer"}', "'sdp' must be an SDP offer"),
        (b'{"sdp": "v=0\\r\\nm=audio 9 x\\r\\n", "type": "offer"}', "could not be answered"),
    ],
)
def test_a_bad_offer_is_a_400_and_takes_no_session(client: TestClient, body: bytes, message: str):
    answered = client.post("/api/offer", content=body)

    assert answered.status_code == 400
    assert message in answered.json()["error"]["message"]
    assert client.get("/status").json()["sessions"]["live"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"nope", "the body is not JSON"),
        (b'{"candidates": []}', "needs 'pc_id'"),
        (b'{"pc_id": "nobody", "candidates": []}', "no peer connection 'nobody'"),
        (b'{"pc_id": "x", "candidates": [{"candidate": "c"}]}', "each candidate needs"),
    ],
)
def test_a_bad_patch_is_a_400(client: TestClient, body: bytes, message: str):
    patched = client.patch("/api/offer", content=body)

    assert patched.status_code == 400
    assert message in patched.json()["error"]["message"]


def test_a_peer_that_never_connects_frees_its_slot(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(webrtc, "CONNECT_TIMEOUT_SECS", 1.0)

    async def scenario() -> None:
        peer, offer = await an_offer()
        assert client.post("/api/offer", json=offer).status_code == 200  # answer never applied
        assert client.get("/status").json()["sessions"]["live"] == 1
        assert await live_sessions(client, settle_at=0) == 0
        await peer.close()

    asyncio.run(scenario())


def test_an_offer_for_a_live_peer_renegotiates_it_in_the_same_session(client: TestClient):
    async def scenario() -> None:
        peer, offer = await an_offer()
        answer = client.post("/sessions/abc/api/offer", json=offer).json()
        await peer.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await peer.setLocalDescription(await peer.createOffer())
        again = {"sdp": peer.localDescription.sdp, "type": "offer", "pc_id": answer["pc_id"]}

        renegotiated = client.post("/api/offer", json=again)  # the limit is one session

        assert renegotiated.status_code == 200, renegotiated.text
        assert renegotiated.json()["pc_id"] == answer["pc_id"]
        assert client.get("/status").json()["sessions"]["live"] == 1
        await peer.close()

    asyncio.run(scenario())


def test_with_auth_a_peer_opens_with_the_offer_url_start_gave_and_only_once():
    settings = Settings(max_sessions=2, api_key="operator-key")
    key = {"authorization": "Bearer operator-key"}

    async def scenario(client: TestClient) -> None:
        started = client.post("/start", json={"transport": "webrtc"}, headers=key).json()
        offer_url = started["webrtcRequestParams"]["endpoint"].removeprefix("http://testserver")
        peer, offer = await an_offer()
        answered = client.post(offer_url, json=offer)
        assert answered.status_code == 200, answered.text
        answer = answered.json()
        await peer.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await connected(peer)

        other, second = await an_offer()
        reused = client.post(offer_url, json=second)
        assert reused.status_code == 401 and "already used" in reused.text
        await other.close()

        # Within the session: its own token renegotiates and trickles; another's does not.
        await peer.setLocalDescription(await peer.createOffer())
        again = {"sdp": peer.localDescription.sdp, "type": "offer", "pc_id": answer["pc_id"]}
        stranger = client.post("/start", json={"transport": "webrtc"}, headers=key).json()
        strangers_url = f"/sessions/{stranger['sessionId']}/api/offer"
        patch = {"pc_id": answer["pc_id"], "candidates": []}
        assert client.post(strangers_url, json=again).status_code == 401
        assert client.patch(strangers_url, json=patch).status_code == 401
        assert client.patch("/api/offer", json=patch).status_code == 401
        assert client.patch(offer_url, json=patch).status_code == 200
        assert client.post(offer_url, json=again).status_code == 200
        assert client.get("/status").json()["sessions"]["live"] == 1
        await peer.close()
        assert await live_sessions(client, settle_at=0) == 0

    with TestClient(create_app(settings, ENDPOINT)) as client:
        asyncio.run(scenario(client))
