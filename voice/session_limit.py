"""The cap on one session's length (`--max-session-seconds`): a goodbye, then the end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from loguru import logger
from pipecat.pipeline.worker import PipelineWorker

from voice.goodbye import say_goodbye_and_end

GOODBYE = "I'm sorry, this call has reached its time limit. Goodbye."


async def end_after(
    worker: PipelineWorker, seconds: float, on_limit: Callable[[], None] = lambda: None
) -> None:
    """After `seconds`, call `on_limit`, have the bot say `GOODBYE` and end the session."""
    await asyncio.sleep(seconds)
    logger.info(f"session ends: it reached its {seconds:g} s limit")
    on_limit()
    await say_goodbye_and_end(worker, GOODBYE, "session time limit")
