"""The aiohttp application: routes, middlewares and the CLI processes' lifetime."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from aiohttp import web

from server.cli.command import process_model
from server.cli.slots import Slots
from server.cli.supervisor import CliSupervisor
from server.cli.warm_pool import WarmPools
from server.http.chat import chat_completions
from server.http.middleware import auth_middleware, errors_middleware
from server.http.openai_format import models_list
from server.http.state import POOLS, SETTINGS, SLOTS, SUPERVISOR
from server.settings import Settings


def create_app(settings: Settings) -> web.Application:
    """Build the app; CLI processes live and die with it.

    Serve it with `handler_cancellation=True` (as `__main__` and aiohttp's test server do),
    so a client that disconnects cancels its handler and so ends its CLI at once.
    """
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[errors_middleware, auth_middleware(settings.api_key)],
    )
    app[SETTINGS] = settings
    app[SLOTS] = Slots(settings.max_concurrency, settings.queue_timeout)
    app.cleanup_ctx.append(_cli_processes)
    app.on_shutdown.append(_end_cli_processes)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", _models)
    app.router.add_get("/health", _health)
    return app


async def _cli_processes(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    supervisor = app[SUPERVISOR] = CliSupervisor(
        cli=settings.cli,
        env=settings.cli_env,
        max_line_bytes=settings.max_line_bytes,
        kill_grace=settings.kill_grace,
    )
    app[POOLS] = WarmPools(
        supervisor,
        size=settings.warm,
        max_age=settings.warm_max_age,
        preload=(process_model(settings.cli, settings.default_model),),
    )
    app[POOLS].start()
    yield
    await _end_cli_processes(app)


async def _end_cli_processes(app: web.Application) -> None:
    # Runs before open streams are cancelled: each one ends with an error event, not silence.
    await app[POOLS].aclose()
    await app[SUPERVISOR].aclose()


_STARTED = int(time.time())


async def _models(request: web.Request) -> web.Response:
    return web.json_response(models_list(request.app[SETTINGS].models, _STARTED))


async def _health(request: web.Request) -> web.Response:
    supervisor, slots, pools = request.app[SUPERVISOR], request.app[SLOTS], request.app[POOLS]
    idle_or_ending = pools.idle_pids() | set(supervisor.ending_pids)
    serving = sorted(set(supervisor.live_pids) - idle_or_ending)
    return web.json_response(
        {
            "status": "ok",
            "cli": request.app[SETTINGS].cli,
            "processes": {
                "live": supervisor.live,
                "spawned": supervisor.spawned,
                "serving_pids": serving,
            },
            "slots": {"in_use": slots.in_use, "limit": slots.limit},
            "warm": request.app[POOLS].stats(),
        }
    )
