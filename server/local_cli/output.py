"""Write the Claude Code CLI's stream-json output lines, one JSON object a line, each flushed.

The shapes follow `tests/fixtures/claude-code-2.1.197-stream-json.jsonl`: a `system`
`init` line, then per answer `stream_event` lines wrapping Anthropic's streaming events (only
with `--include-partial-messages`), the whole `assistant` message, and a `result` line.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any, BinaryIO

from server.local_cli.errors import OutputClosed
from server.local_cli.model import Answer


class StreamJsonWriter:
    """Prints one session's output lines to a binary stream."""

    def __init__(self, stream: BinaryIO, *, model: str, partial_messages: bool):
        self._stream = stream
        self._model = model
        self._partial = partial_messages
        self.session_id = str(uuid.uuid4())
        self._message_id = ""

    def init(self) -> None:
        """The session's first line; printed once the model is loaded and stdin is next."""
        self._emit(
            {
                "type": "system",
                "subtype": "init",
                "cwd": os.getcwd(),
                "session_id": self.session_id,
                "tools": [],
                "mcp_servers": [],
                "model": self._model,
                "permissionMode": "default",
                "slash_commands": [],
                "apiKeySource": "none",
                "output_style": "default",
            }
        )

    def message_start(self) -> None:
        """The start of one answer: `message_start` and its text block's `content_block_start`."""
        self._message_id = f"msg_{uuid.uuid4().hex}"
        message = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            # The prompt's token count is known only at the end; see message_delta and result.
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        self._event({"type": "message_start", "message": message})
        block = {"type": "text", "text": ""}
        self._event({"type": "content_block_start", "index": 0, "content_block": block})

    def text_delta(self, text: str) -> None:
        """One generated piece of text."""
        delta = {"type": "text_delta", "text": text}
        self._event({"type": "content_block_delta", "index": 0, "delta": delta})

    def message_end(self, answer: Answer) -> None:
        """The whole `assistant` message, then the events that close the streamed one."""
        usage = _usage(answer)
        message = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [{"type": "text", "text": answer.text}],
            "stop_reason": answer.stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }
        self._emit(self._envelope("assistant", {"message": message}))
        self._event({"type": "content_block_stop", "index": 0})
        delta = {"stop_reason": answer.stop_reason, "stop_sequence": None}
        self._event({"type": "message_delta", "delta": delta, "usage": usage})
        self._event({"type": "message_stop"})

    def result(self, answer: Answer, *, duration_ms: int, ttft_ms: int | None) -> None:
        """The closing `result` line of a successful answer."""
        self._emit(
            self._envelope(
                "result",
                {
                    "subtype": "success",
                    "is_error": False,
                    "api_error_status": None,
                    "duration_ms": duration_ms,
                    "duration_api_ms": duration_ms,
                    "ttft_ms": ttft_ms,
                    "num_turns": 1,
                    "result": answer.text,
                    "stop_reason": answer.stop_reason,
                    "total_cost_usd": 0,
                    "usage": _usage(answer),
                    "permission_denials": [],
                    "terminal_reason": "completed",
                },
            )
        )

    def error(self, message: str, *, status: int | None = None) -> None:
        """A `result` line reporting failure; `status` is the model's HTTP-like error code.

        Like the real CLI, `subtype` stays "success" and `is_error` carries the failure.
        """
        self._emit(
            self._envelope(
                "result",
                {
                    "subtype": "success",
                    "is_error": True,
                    "api_error_status": status,
                    "duration_ms": 0,
                    "num_turns": 1,
                    "result": message,
                    "total_cost_usd": 0,
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                    "permission_denials": [],
                },
            )
        )

    def _event(self, event: dict[str, Any]) -> None:
        if self._partial:
            self._emit(self._envelope("stream_event", {"event": event}))

    def _envelope(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        line: dict[str, Any] = {"type": kind, **body, "session_id": self.session_id}
        if kind != "result":
            line["parent_tool_use_id"] = None
        line["uuid"] = str(uuid.uuid4())
        return line

    def _emit(self, line: dict[str, Any]) -> None:
        data = json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        try:
            self._stream.write(data)
            self._stream.flush()
        except (BrokenPipeError, ConnectionResetError) as e:
            raise OutputClosed("stdout was closed") from e


def _usage(answer: Answer) -> dict[str, int]:
    return {
        "input_tokens": answer.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": answer.cached_tokens,
        "output_tokens": answer.output_tokens,
    }
