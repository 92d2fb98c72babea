"""The app's own routes: the models list and a health report that never needs the key."""

from __future__ import annotations

import aiohttp

from tests.conftest import wait_until


async def test_models_and_health(sdk, serve, fake_settings):
    server = await serve(fake_settings(models=("a", "b"), default_model="b"))
    models = await sdk(server).models.list()
    assert [m.id for m in models.data] == ["a", "b"]
    async with aiohttp.ClientSession() as session:
        async with session.get(server.make_url("/health")) as r:
            health = await r.json()
    assert health["status"] == "ok"
    assert health["slots"] == {"in_use": 0, "limit": 4}


async def test_health_tells_serving_from_idle_processes(serve, fake_settings, records):
    server = await serve(fake_settings("hang", warm=1, api_key="k"))
    url = server.make_url("/health")
    async with aiohttp.ClientSession() as session:

        async def health() -> dict:
            async with session.get(url) as r:
                assert r.status == 200  # no key needed
                return await r.json()

        assert await wait_until(lambda: records.pids(), 5.0)
        body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        headers = {"Authorization": "Bearer k"}
        async with session.post(
            server.make_url("/v1/chat/completions"), json=body, headers=headers
        ):
            [record] = await records.wait_for(key="stdin")
            report = await health()
            assert report["processes"]["serving_pids"] == [record["pid"]]
            assert report["slots"]["in_use"] == 1
            assert report["warm"]["sonnet"]["hits"] == 1
