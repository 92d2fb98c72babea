"""`/api/calls` and `/calls` over a real store: the list, one call, delete, the admin
token, and bad ids and paging parameters."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from voice.app import create_app
from voice.calls.store import Call, CallStore, Turn
from voice.llm_server import LlmEndpoint
from voice.settings import Settings

ENDPOINT = LlmEndpoint(base_url="http://127.0.0.1:9/v1", api_key="k")
ADMIN = {"authorization": "Bearer admin-token"}


@pytest.fixture
def store(tmp_path: Path):
    store = CallStore.open(str(tmp_path / "calls.db"))

    async def fill() -> None:
        for i in range(3):
            await store.start_call(Call(f"call{i}", "websocket", None, started=1000.0 + i))
        await store.start_call(Call("phone1", "twilio", "+15550001111", started=2000.0))
        turn = Turn(1, 2001.0, "What is the capital of France?", "Paris.", False, 0.8, ())
        await store.add_turn("phone1", turn)
        await store.end_call("phone1", 2010.0, "caller hung up", None)

    asyncio.run(fill())
    yield store
    asyncio.run(store.close())


def client_for(store: CallStore, admin_token: str | None = "admin-token") -> TestClient:
    return TestClient(create_app(Settings(admin_token=admin_token), ENDPOINT, store))


def test_the_list_and_one_call(store: CallStore):
    client = client_for(store)

    listed = client.get("/api/calls?limit=2", headers=ADMIN).json()
    one = client.get("/api/calls/phone1", headers=ADMIN).json()

    assert [c["id"] for c in listed["calls"]] == ["phone1", "call2"]
    assert listed["calls"][0]["turns"] == 1
    assert listed["next"] == "/api/calls?limit=2&offset=2"
    following = client.get(listed["next"], headers=ADMIN).json()
    assert [c["id"] for c in following["calls"]] == ["call1", "call0"]
    last = client.get(following["next"], headers=ADMIN).json()
    assert last == {"calls": [], "next": None}
    assert one["caller"] == "+15550001111" and one["end"] == {
        "reason": "caller hung up",
        "detail": None,
    }
    assert one["turns"][0]["user"] == "What is the capital of France?"
    assert one["turns"][0]["bot"] == "Paris."


def test_filters_by_transport_and_time(store: CallStore):
    client = client_for(store)

    def ids(query: str) -> list[str]:
        return [c["id"] for c in client.get(f"/api/calls?{query}", headers=ADMIN).json()["calls"]]

    assert ids("transport=twilio") == ["phone1"]
    assert ids("since=1001&until=2000") == ["call2", "call1"]
    assert ids("since=1970-01-01T00:16:41Z&until=1970-01-01T00:33:20") == ["call2", "call1"]


def test_delete_removes_the_call(store: CallStore):
    client = client_for(store)

    assert client.delete("/api/calls/phone1", headers=ADMIN).status_code == 204
    assert client.get("/api/calls/phone1", headers=ADMIN).status_code == 404
    assert client.delete("/api/calls/phone1", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/api/calls/nope", 404, "no call nope"),
        ("GET", "/api/calls/a.b", 400, "a call id is 1-64"),
        ("DELETE", "/api/calls/" + "x" * 65, 400, "a call id is 1-64"),
        ("GET", "/api/calls?limit=0", 400, "'limit' must be 1 to 100"),
        ("GET", "/api/calls?limit=101", 400, "'limit' must be 1 to 100"),
        ("GET", "/api/calls?limit=ten", 400, "'limit' must be a whole number"),
        ("GET", "/api/calls?offset=-1", 400, "'offset' must be 0 or more"),
        ("GET", "/api/calls?since=yesterday", 400, "'since' must be unix seconds or an ISO"),
        ("GET", "/api/calls?until=nan", 400, "'until' must be unix seconds"),
        ("GET", "/api/calls?page=2", 400, "unknown parameter 'page'"),
    ],
)
def test_bad_requests_get_a_4xx_saying_why(store, method, path, status, message):
    response = client_for(store).request(method, path, headers=ADMIN)

    assert response.status_code == status
    assert message in response.json()["error"]["message"]


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong"}])
def test_without_the_admin_token_nothing_is_shown_or_deleted(store: CallStore, headers):
    client = client_for(store)

    for method, path in [("GET", "/api/calls"), ("GET", "/api/calls/phone1"),
                         ("DELETE", "/api/calls/phone1")]:  # fmt: skip
        refused = client.request(method, path, headers=headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/calls/phone1", headers=ADMIN).status_code == 200
    assert client.get("/calls").status_code == 200  # the page; it asks for the token


def test_without_an_admin_token_on_loopback_the_records_are_open(store: CallStore):
    assert client_for(store, admin_token=None).get("/api/calls").status_code == 200


def test_with_recording_off_there_are_no_records_to_serve():
    client = TestClient(create_app(Settings(record=False), ENDPOINT))

    assert client.get("/api/calls").status_code == 404
    assert client.get("/status").json()["calls"] is None
