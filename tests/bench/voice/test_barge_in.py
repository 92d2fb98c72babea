"""Barge-in trials: when the bot's audio stopped, and when it did not."""

from __future__ import annotations

import pytest

from bench.voice.barge_in import stop_time
from bench.voice.turns import TurnFailed


def test_a_bot_that_kept_talking_over_the_caller_did_not_stop():
    frame = b"\0" * 1920
    stopped = [(t / 100, frame, 24000) for t in range(100, 150, 4)]  # quiet from 1.48 s
    assert stop_time(stopped, said=2.5) == pytest.approx(1.48)
    talking = [(t / 100, frame, 24000) for t in range(100, 300, 4)]  # on past 2.5 s
    with pytest.raises(TurnFailed, match="kept talking"):
        stop_time(talking, said=2.5)
