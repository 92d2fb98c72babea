"""The server-side view of a turn, read back from the `turn latency` lines the app logs."""

from __future__ import annotations

from loguru import logger

from bench.voice.server_log import server_turns
from voice.__main__ import _LOG_FORMAT
from voice.latency_log import TurnLatency


def test_reads_the_turn_latency_lines_the_app_logs():
    latency = TurnLatency(0.9, 0.15, None, 0.12, (("endpointing_wait", 0.2),))
    lines: list[str] = []
    sink = logger.add(lines.append, format=_LOG_FORMAT)
    try:
        logger.bind(session="abc123").info(latency.log_line())
        logger.bind(session="abc123").info("client connected")
    finally:
        logger.remove(sink)

    [turn] = server_turns("".join(lines))
    assert turn == {
        "session": "abc123",
        "total_ms": 900.0,
        "stt_ms": 150.0,
        "tts_first_audio_ms": 120.0,
        "endpointing_wait_ms": 200.0,
    }
