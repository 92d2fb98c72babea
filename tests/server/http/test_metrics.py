"""`GET /metrics` on the completions server, parsed with `prometheus_client`'s own parser."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


async def scrape(server) -> dict[tuple[str, tuple], float]:
    async with aiohttp.ClientSession() as session:
        async with session.get(server.make_url("/metrics")) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_requests_first_tokens_and_processes_are_counted(serve, fake_settings, sdk, claude):
    server = await serve(fake_settings(warm=1))
    client = sdk(server)
    await client.chat.completions.create(model="sonnet", messages=QUESTION)
    await claude(server).messages.create(model="sonnet", max_tokens=8, messages=QUESTION)
    async with aiohttp.ClientSession() as session:
        async with session.post(server.make_url("/v1/chat/completions"), json={}) as r:
            assert r.status == 400
        async with session.get(server.make_url("/v1/responses/resp_x/y")) as r:
            assert r.status == 404

    found = await scrape(server)
    chat = "/v1/chat/completions"
    assert found[("server_requests_total", (("route", chat), ("status", "200")))] == 1
    assert found[("server_requests_total", (("route", chat), ("status", "400")))] == 1
    assert found[("server_requests_total", (("route", "/v1/messages"), ("status", "200")))] == 1
    assert found[("server_requests_total", (("route", "unmatched"), ("status", "404")))] == 1
    for route in (chat, "/v1/messages"):
        assert found[("server_time_to_first_token_seconds_count", (("route", route),))] == 1
    assert found[("server_slots_limit", ())] == 4
    assert ("server_cli_processes", (("state", "warm"),)) in found


async def test_slot_waits_and_refusals_are_counted(serve, fake_settings, records):
    settings = fake_settings("hang", max_concurrency=1, queue_timeout=0.2)
    server = await serve(settings)
    url = server.make_url("/v1/chat/completions")
    async with aiohttp.ClientSession() as session:
        first = await session.post(url, json={"messages": QUESTION, "stream": True})
        await records.wait_for(key="stdin")
        async with session.post(url, json={"messages": QUESTION}) as second:
            assert second.status == 429
        found = await scrape(server)
        first.close()
    assert found[("server_slot_waits_total", ())] == 1
    assert found[("server_slot_refusals_total", ())] == 1
    assert found[("server_slots_in_use", ())] == 1
    assert found[("server_cli_processes", (("state", "serving"),))] == 1
    assert (
        found[("server_requests_total", (("route", "/v1/chat/completions"), ("status", "429")))]
        == 1
    )
