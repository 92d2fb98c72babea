"""The cap on one session's length (`--max-session-seconds`): a goodbye, then the end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from loguru import logger
from pipecat.frames.frames import EndFrame, TTSSpeakFrame
from pipecat.pipeline.worker import PipelineWorker

GOODBYE = "I'm sorry, this call has reached its time limit. Goodbye."
# How long the goodbye may take to be spoken before the session is cancelled.
GOODBYE_SECS = 10.0


async def end_after(
    worker: PipelineWorker, seconds: float, on_limit: Callable[[], None] = lambda: None
) -> None:
    """After `seconds`, call `on_limit`, have the bot say `GOODBYE` and end the session (the
    transport closes the connection, a phone call is hung up); cancel it if that takes over
    `GOODBYE_SECS`."""
    await asyncio.sleep(seconds)
    logger.info(f"session ends: it reached its {seconds:g} s limit")
    on_limit()
    await worker.queue_frames([TTSSpeakFrame(GOODBYE), EndFrame()])
    await asyncio.sleep(GOODBYE_SECS)
    logger.warning(f"the goodbye took over {GOODBYE_SECS:g} s; cancelling the session")
    await worker.cancel(reason="session time limit")
