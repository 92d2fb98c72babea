"""A per-client request rate limit: a token bucket for each client address."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

# Buckets kept before the full (idle) ones are dropped.
_MAX_CLIENTS = 10_000


class RateLimit:
    """Up to `per_minute` requests a minute from each client, in bursts of up to as many."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self._capacity = float(per_minute)
        self._refill = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)

    def take(self, client: str) -> float:
        """Spend one request of `client`'s: 0 if allowed, else the seconds until one is."""
        now = self._clock()
        tokens, at = self._buckets.get(client, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - at) * self._refill)
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self._refill
        if len(self._buckets) >= _MAX_CLIENTS:
            self._forget_idle(now)
        self._buckets[client] = (tokens - 1, now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        full_after = self._capacity / self._refill
        self._buckets = {
            c: (t, at) for c, (t, at) in self._buckets.items() if now - at < full_after
        }


def retry_after(seconds: float) -> str:
    """A `Retry-After` header's value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
