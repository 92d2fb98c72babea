"""The per-client rate limit on `POST /start`."""

from __future__ import annotations

import pytest

from voice.rate_limit import RateLimit, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_up_to_the_limit_then_a_wait_for_the_next():
    clock = Clock()
    limit = RateLimit(6, clock=clock)  # one every 10 s, bursts of 6

    assert [limit.take("a") for _ in range(6)] == [0.0] * 6
    assert limit.take("a") == 10.0
    clock.now += 4
    assert limit.take("a") == pytest.approx(6.0)
    clock.now += 6
    assert limit.take("a") == 0.0


def test_each_client_has_its_own_allowance():
    limit = RateLimit(1, clock=Clock())

    assert limit.take("a") == 0.0
    assert limit.take("a") > 0
    assert limit.take("b") == 0.0


def test_idle_clients_are_forgotten_once_there_are_many(monkeypatch):
    clock = Clock()
    limit = RateLimit(60, clock=clock)
    monkeypatch.setattr("voice.rate_limit._MAX_CLIENTS", 3)
    for client in "abc":
        limit.take(client)
    clock.now += 61  # a, b, c are full again

    limit.take("d")

    assert set(limit._buckets) == {"d"}


def test_retry_after_is_whole_seconds_and_at_least_one():
    assert [retry_after(s) for s in (0.01, 1.0, 1.2, 59.9)] == ["1", "1", "2", "60"]
