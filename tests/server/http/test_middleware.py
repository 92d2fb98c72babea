"""Bearer auth on /v1 and OpenAI's error envelope for every failure, through the real app."""

from __future__ import annotations

import aiohttp
import openai
import pytest

from tests.server.http.test_chat import MESSAGES, post


async def test_unknown_route_gets_envelope(serve, fake_settings):
    server = await serve(fake_settings())
    async with aiohttp.ClientSession() as session:
        async with session.get(server.make_url("/v1/nothing")) as r:
            assert r.status == 404
            assert "error" in await r.json()


async def test_api_key_is_required_on_v1_when_set(sdk, serve, fake_settings):
    server = await serve(fake_settings(api_key="s3cret"))
    with pytest.raises(openai.AuthenticationError):
        await sdk(server, api_key="wrong").chat.completions.create(
            model="sonnet", messages=MESSAGES
        )
    status, payload = await post(server, {"messages": MESSAGES})
    assert status == 401 and payload["error"]["code"] == "invalid_api_key"
    completion = await sdk(server, "s3cret").chat.completions.create(
        model="sonnet", messages=MESSAGES
    )
    assert completion.choices[0].message.content
    async with aiohttp.ClientSession() as session:
        async with session.get(server.make_url("/health")) as r:
            assert r.status == 200
