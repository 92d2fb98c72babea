"""The aiohttp application: routes, middlewares and the CLI processes' lifetime."""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from server.cli.processes import CliProcesses
from server.http.chat import chat_completions
from server.http.messages import messages
from server.http.metrics import CONTENT_TYPE, ServerMetrics
from server.http.middleware import auth_middleware, errors_middleware
from server.http.openai_format import models_list
from server.http.responses import cancel_response, create_response, get_response
from server.http.state import METRICS, PROCESSES, RESPONSES, SETTINGS
from server.responses.runs import Responses
from server.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> web.Application:
    """Build the app; CLI processes live and die with it.

    Serve it with `handler_cancellation=True` (as `__main__` and aiohttp's test server do),
    so a client that disconnects cancels its handler and so ends its CLI at once.
    """
    processes = CliProcesses(settings)
    responses = Responses(settings.db, settings.store_ttl)
    metrics = ServerMetrics(processes, responses)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[metrics.middleware(), errors_middleware, auth_middleware(settings.api_key)],
    )
    app[SETTINGS] = settings
    app[PROCESSES] = processes
    app[RESPONSES] = responses
    app[METRICS] = metrics
    app.on_startup.append(_start_processes)
    # aiohttp stops listening, then runs on_shutdown before it cancels open requests, so:
    # background runs are cancelled (and stored as such); answers in flight get up to
    # --drain-timeout to finish; then every CLI is ended, and a stream still open sees its
    # CLI end and closes with an error event rather than going silent.
    app.on_shutdown.append(_drain)
    app.on_cleanup.append(_close_responses)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/responses", create_response)
    app.router.add_get("/v1/responses/{id}", get_response)
    app.router.add_post("/v1/responses/{id}/cancel", cancel_response)
    app.router.add_get("/v1/models", _models)
    app.router.add_get("/health", _health)
    app.router.add_get("/metrics", _metrics)
    return app


async def _start_processes(app: web.Application) -> None:
    app[PROCESSES].start()


async def _drain(app: web.Application) -> None:
    await app[RESPONSES].cancel_background()
    timeout = app[SETTINGS].drain_timeout
    if timeout:
        try:
            async with asyncio.timeout(timeout):
                await app[PROCESSES].drain()
        except TimeoutError:
            log.warning("drain timeout: ending the answers still in flight after %g s", timeout)
    await app[PROCESSES].aclose()


async def _close_responses(app: web.Application) -> None:
    await app[RESPONSES].aclose()


_STARTED = int(time.time())


async def _models(request: web.Request) -> web.Response:
    return web.json_response(models_list(request.app[SETTINGS].models, _STARTED))


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def _health(request: web.Request) -> web.Response:
    health = request.app[PROCESSES].health()
    return web.json_response({"status": "ok", "cli": request.app[SETTINGS].cli, **health})
