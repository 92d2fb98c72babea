"""A portal's backend for the voice widget when the voice agent runs with auth on.

The widget on the portal's page posts `{"transport": ...}` to this backend (`data-start`);
the backend adds who the visitor is and calls the voice agent's `POST /start` with the
operator key, which never leaves the server; the widget connects with the answer (the
official JS client's `startBotAndConnect`). Run it beside `python -m voice`:

    VOICE_URL=http://127.0.0.1:7860 VOICE_API_KEY=... python examples/portal_backend.py

and open http://127.0.0.1:8080/. The voice agent must let this page's origin in:
`--allowed-origins=http://127.0.0.1:8080`.
"""

from __future__ import annotations

import argparse
import os

from aiohttp import ClientSession, web

VOICE_URL = os.environ.get("VOICE_URL", "http://127.0.0.1:7860").rstrip("/")
VOICE_API_KEY = os.environ.get("VOICE_API_KEY", "")

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Example portal</title></head>
<body><h1>Example portal</h1><p>Signed in as {name}.</p>
<script src="{voice}/widget.js" data-start="/voice/start" data-transport="{transport}" async>
</script></body></html>"""


def signed_in_visitor(request: web.Request) -> dict[str, str]:
    """Who is asking: a real portal reads its own session here. Never trust the browser."""
    return {"name": "Ann Lee", "account": "A-17", "plan": "gold"}


async def voice_start(request: web.Request) -> web.Response:
    """The widget's `data-start`: mint a voice session for the signed-in visitor."""
    asked = await request.json()
    async with (
        ClientSession() as http,
        http.post(
            f"{VOICE_URL}/start",
            json={"transport": asked.get("transport"), "body": signed_in_visitor(request)},
            headers={"Authorization": f"Bearer {VOICE_API_KEY}"},
        ) as started,
    ):
        return web.json_response(await started.json(), status=started.status)


async def page(request: web.Request) -> web.Response:
    transport = "websocket" if request.query.get("transport") == "websocket" else "webrtc"
    name = signed_in_visitor(request)["name"]
    html = PAGE.format(name=name, voice=VOICE_URL, transport=transport)
    return web.Response(text=html, content_type="text/html")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_post("/voice/start", voice_start)
    web.run_app(app, host=args.host, port=args.port, print=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
