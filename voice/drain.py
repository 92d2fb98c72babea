"""Graceful drain on SIGTERM: no new sessions, live ones finish their exchange, then end.

Once `Drain.begin` is called, `/ready` answers 503 (a load balancer stops sending calls),
a new session is refused (HTTP 503 with `Retry-After` on `POST /start`, `POST /api/offer` and
a phone's webhook; close code 1013 on a websocket), and each live session ends as soon as no
exchange is in flight: once the caller has been answered, the bot says a short goodbye and
hangs up. `voice.__main__` waits for the sessions up to `--drain-timeout`, then ends the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from loguru import logger
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_response_universal import (
    LLMAssistantAggregator,
    LLMUserAggregator,
)

from voice.goodbye import say_goodbye_and_end
from voice.http_errors import json_error

GOODBYE = "I have to hang up now, sorry. Please call again in a moment. Goodbye."
RETRY_AFTER_SECS = 5
# POSTs that would start a session: a token, an offer (also `/sessions/<token>/api/offer`),
# a phone's webhook. A WebRTC renegotiation is a PATCH, and goes on.
_STARTS = ("/start", "/")


class Drain:
    """Whether the app is draining, and an event its sessions wait on."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    @property
    def draining(self) -> bool:
        return self.started.is_set()

    def begin(self) -> None:
        """Stop taking sessions; live ones end after their current exchange."""
        if not self.draining:
            logger.info("draining: no new sessions; live ones end after their current exchange")
            self.started.set()


class Exchange:
    """Whether a session is mid-exchange: from the caller's turn starting until the bot's
    answer to it is over (spoken or interrupted)."""

    def __init__(self) -> None:
        self.idle = asyncio.Event()
        self.idle.set()

    def attach(self, user: LLMUserAggregator, assistant: LLMAssistantAggregator) -> None:
        """Follow the session's turns through its context aggregators."""

        @user.event_handler("on_user_turn_started")
        async def on_user_turn_started(*_: object) -> None:
            self.idle.clear()

        @assistant.event_handler("on_assistant_turn_stopped")
        async def on_assistant_turn_stopped(*_: object) -> None:
            self.idle.set()


async def end_when_drained(
    worker: PipelineWorker, drain: Drain, exchange: Exchange, on_end: Callable[[], None]
) -> None:
    """Once the app drains and `exchange` is idle, call `on_end`, say `GOODBYE` and end."""
    await drain.started.wait()
    await exchange.idle.wait()
    logger.info("session ends: the server is draining")
    on_end()
    await say_goodbye_and_end(worker, GOODBYE, "server drain")


def add_drain_routes(app: FastAPI, drain: Drain) -> None:
    """`GET /live`, `GET /ready`, and the refusal of new sessions while draining."""

    @app.get("/live")
    async def live() -> dict[str, str]:
        """Liveness: the process serves (also while draining)."""
        return {"status": "live"}

    @app.get("/ready")
    async def ready() -> Response:
        """Readiness: 200 while it takes new sessions, 503 while draining."""
        if drain.draining:
            return JSONResponse({"status": "draining"}, 503, _retry_after())
        return JSONResponse({"status": "ready"})

    @app.middleware("http")
    async def refuse_while_draining(request: Request, call_next) -> Response:
        path = request.url.path
        starts = request.method == "POST" and (path in _STARTS or path.endswith("/api/offer"))
        if drain.draining and starts:
            logger.warning(f"{request.method} {request.url.path} refused: draining")
            return json_error(503, "this server is draining; retry on another", _retry_after())
        return await call_next(request)


def _retry_after() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECS)}
