"""Ending a session from the server's side: the bot says a goodbye, then the session ends."""

from __future__ import annotations

import asyncio

from loguru import logger
from pipecat.frames.frames import EndFrame, TTSSpeakFrame
from pipecat.pipeline.worker import PipelineWorker

# How long the goodbye may take to be spoken before the session is cancelled.
GOODBYE_SECS = 10.0


async def say_goodbye_and_end(worker: PipelineWorker, goodbye: str, why: str) -> None:
    """Have the bot say `goodbye` and end the session (the transport closes the connection,
    a phone call is hung up); cancel it, for `why`, if that takes over `GOODBYE_SECS`."""
    await worker.queue_frames([TTSSpeakFrame(goodbye), EndFrame()])
    await asyncio.sleep(GOODBYE_SECS)
    logger.warning(f"the goodbye took over {GOODBYE_SECS:g} s; cancelling the session")
    await worker.cancel(reason=why)
