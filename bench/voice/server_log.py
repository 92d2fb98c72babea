"""The server-side view of each turn, read back from the app's `turn latency` log lines.

`voice.latency_log` writes one line per turn, when the bot starts speaking:

    12:00:00.000 | INFO    | <session> | voice.latency_log:...:78 - turn latency total=0.912
        stt=0.150 llm_first_token=0.400 tts_first_audio=0.120 | endpointing_wait=0.200 ...

(one line in the log). Figures are seconds from the caller's real silence, as Pipecat's
`UserBotLatencyObserver` sees it; "-" is a part the turn did not have.
"""

from __future__ import annotations

import re
from typing import Any

from voice.latency_log import LOG_PREFIX

_LINE = re.compile(
    r"\| \w+ *\| (?P<session>\S+) \|[^\n]*? - "
    + re.escape(LOG_PREFIX)
    + r" (?P<head>[^|\n]*)\|(?P<parts>[^\n]*)"
)

# (metric name in the table, key in the line): the breakdown the benchmark reports.
SERVER_METRICS = (
    ("server: total", "total_ms"),
    ("server: endpointing", "endpointing_wait_ms"),
    ("server: STT", "stt_ms"),
    ("server: turn detection", "turn_detection_ms"),
    ("server: LLM first token", "llm_first_token_ms"),
    ("server: sentence", "sentence_aggregation_ms"),
    ("server: TTS first audio", "tts_first_audio_ms"),
)


def server_turns(log: str) -> list[dict[str, Any]]:
    """Every `turn latency` line in `log`: its session and figures, in milliseconds."""
    turns = []
    for match in _LINE.finditer(log):
        turn: dict[str, Any] = {"session": match["session"]}
        for pair in f"{match['head']} {match['parts']}".split():
            key, _, value = pair.partition("=")
            if value and value != "-":
                turn[f"{key}_ms"] = float(value) * 1000
        turns.append(turn)
    return turns
