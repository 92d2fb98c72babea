"""Run requests over several paths interleaved round robin, so drift hits every path alike."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from tqdm import tqdm

from bench.server.samples import Sample, SampleFailed


class BenchPath(Protocol):
    """One way of getting an answer (the CLI directly, or through a server)."""

    name: str

    async def before_batch(self, count: int) -> None:
        """Wait until `count` requests can be measured fairly."""

    async def after_batch(self) -> None:
        """Wait until this path's batch no longer affects the next one."""

    async def request(self, sample: Sample) -> None:
        """Make one streamed request and fill `sample`; raise on any failure."""

    async def cancel(self, sample: Sample) -> None:
        """Make one request, cancel it after the first chunk and fill `sample.cancel_ms`."""


Action = Callable[[BenchPath, Sample], Awaitable[None]]


async def attempt(path: BenchPath, action: Action, sample: Sample, time_limit: float) -> Sample:
    """Run `action` for `sample` within `time_limit` seconds; any failure is kept in the sample."""
    try:
        async with asyncio.timeout(time_limit):
            await action(path, sample)
        sample.ok = True
    except SampleFailed as e:
        sample.error = str(e)
    except TimeoutError:
        sample.error = f"timed out after {time_limit:g} s"
    except Exception as e:  # a benchmark counts a broken request instead of stopping
        sample.error = f"{type(e).__name__}: {e}"
    if not sample.ok:
        for field in ("ttfc_ms", "total_ms", "cancel_ms"):
            setattr(sample, field, None)
        sample.gaps_ms = []
    return sample


async def run_rounds(
    paths: Sequence[BenchPath],
    *,
    phase: str,
    count: int,
    concurrency: int,
    action: Action,
    time_limit: float,
    progress: tqdm,
) -> list[Sample]:
    """`count` requests per path: each round sends one batch of `concurrency` requests per
    path in turn (A B C A B C ... when `concurrency` is 1), waiting for each batch to end."""
    samples: list[Sample] = []
    for first in range(0, count, concurrency):
        size = min(concurrency, count - first)
        for path in paths:
            await path.before_batch(size)
            progress.set_postfix_str(f"{phase} {path.name}", refresh=False)
            batch = [Sample(path.name, phase, first + i) for i in range(size)]
            done = await asyncio.gather(*(attempt(path, action, s, time_limit) for s in batch))
            samples += done
            progress.update(size)
            await path.after_batch()
    return samples


def request(path: BenchPath, sample: Sample) -> Awaitable[None]:
    """The latency action: one streamed request."""
    return path.request(sample)


def cancel(path: BenchPath, sample: Sample) -> Awaitable[None]:
    """The cancel action: one request cancelled after its first chunk."""
    return path.cancel(sample)
