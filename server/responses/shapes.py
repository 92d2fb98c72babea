"""OpenAI Responses shapes: the `response` object and the stream events that build it.

`Output` follows one answer as its deltas arrive and says which events each one makes: a
reasoning item (its summary text) while the model thinks, then a message item with one
`output_text` part. The response it describes can be taken at any moment, so a cancelled or
failed run stores exactly what it had said.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from server.cli.events import Usage


def new_id(prefix: str) -> str:
    """A new id in OpenAI's `<prefix>_<hex>` form."""
    return f"{prefix}_{uuid.uuid4().hex}"


def usage_dict(usage: Usage | None) -> dict[str, Any]:
    """The Responses API's `usage`."""
    usage = usage or Usage(0, 0)
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


class Output:
    """One response: its fixed fields, its output so far, and the events each step makes."""

    def __init__(
        self,
        *,
        model: str,
        instructions: str | None,
        background: bool,
        effort: str | None,
        metadata: dict[str, Any],
        store: bool,
    ):
        self.id = new_id("resp")
        self.created_at = int(time.time())
        self.status = "queued" if background else "in_progress"
        self._fixed = {
            "model": model,
            "instructions": instructions,
            "background": background,
            "reasoning": {"effort": effort, "summary": None},
            "metadata": metadata,
            "store": store,
        }
        self._reasoning: dict[str, Any] | None = None
        self._reasoning_closed = False
        self._message: dict[str, Any] | None = None
        self.error: dict[str, str] | None = None
        self.usage: Usage | None = None

    @property
    def text(self) -> str:
        """The answer's text so far."""
        return self._message["content"][0]["text"] if self._message else ""

    def response(self) -> dict[str, Any]:
        """The `response` object as it stands."""
        output = [item for item in (self._reasoning, self._message) if item is not None]
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": self.status,
            "error": self.error,
            "incomplete_details": None,
            **self._fixed,
            "output": output,
            "output_text": self.text,
            "parallel_tool_calls": False,
            "tool_choice": "none",
            "tools": [],
            "text": {"format": {"type": "text"}},
            "truncation": "disabled",
            "temperature": None,
            "top_p": None,
            "max_output_tokens": None,
            "previous_response_id": None,
            "usage": usage_dict(self.usage) if self.status == "completed" else None,
        }

    def created(self) -> list[dict[str, Any]]:
        """The first event(s): `response.created` (and `response.queued` when queued)."""
        events = [{"type": "response.created", "response": self.response()}]
        if self.status == "queued":
            events.append({"type": "response.queued", "response": self.response()})
        return events

    def started(self) -> list[dict[str, Any]]:
        """The run has its CLI process: `response.in_progress`."""
        self.status = "in_progress"
        return [{"type": "response.in_progress", "response": self.response()}]

    def thinking(self, text: str) -> list[dict[str, Any]]:
        """Events for a piece of thinking (opening the reasoning item first)."""
        events = []
        if self._reasoning is None:
            self._reasoning = {"type": "reasoning", "id": new_id("rs"), "summary": []}
            events.append(self._item_event("added", self._reasoning, 0))
            self._reasoning["summary"].append({"type": "summary_text", "text": ""})
            events.append(self._summary_event("part.added", {"type": "summary_text", "text": ""}))
        self._reasoning["summary"][0]["text"] += text
        events.append(self._summary_event("text.delta", delta=text))
        return events

    def text_delta(self, text: str) -> list[dict[str, Any]]:
        """Events for a piece of the answer (closing the reasoning, opening the message)."""
        events = self._open_message()
        self._message["content"][0]["text"] += text
        events.append(
            {**self._part_fields(), "type": "response.output_text.delta", "delta": text}
            | {"logprobs": []}
        )
        return events

    def finished(self, status: str, error: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """The closing events: the open items done, then `response.<status>`."""
        events = self._close_reasoning()
        if status == "completed" or self._message is not None:
            events += self._open_message()
            events += self._close_message()
        self.status, self.error = status, error
        kind = "response.incomplete" if status == "cancelled" else f"response.{status}"
        event: dict[str, Any] = {"type": kind, "response": self.response()}
        if error is not None:
            # The openai SDK raises `APIError` on an event that carries `error` at its top.
            event["error"] = error
        return [*events, event]

    def _open_message(self) -> list[dict[str, Any]]:
        if self._message is not None:
            return []
        events = self._close_reasoning()
        self._message = {
            "type": "message",
            "id": new_id("msg"),
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        events.append(self._item_event("added", self._message, self._message_index))
        part = {"type": "output_text", "text": "", "annotations": []}
        events.append(
            {**self._part_fields(), "type": "response.content_part.added", "part": dict(part)}
        )
        self._message["content"].append(part)
        return events

    def _close_message(self) -> list[dict[str, Any]]:
        if self._message is None or self._message["status"] != "in_progress":
            return []
        part = self._message["content"][0]
        self._message["status"] = "completed"
        fields = self._part_fields()
        return [
            {**fields, "type": "response.output_text.done", "text": part["text"], "logprobs": []},
            {**fields, "type": "response.content_part.done", "part": dict(part)},
            self._item_event("done", self._message, self._message_index),
        ]

    def _close_reasoning(self) -> list[dict[str, Any]]:
        if self._reasoning is None or self._reasoning_closed:
            return []
        self._reasoning_closed = True
        summary = self._reasoning["summary"][0]
        return [
            self._summary_event("text.done", text=summary["text"]),
            self._summary_event("part.done", dict(summary)),
            self._item_event("done", self._reasoning, 0),
        ]

    @property
    def _message_index(self) -> int:
        return 1 if self._reasoning is not None else 0

    def _part_fields(self) -> dict[str, Any]:
        assert self._message is not None
        return {
            "item_id": self._message["id"],
            "output_index": self._message_index,
            "content_index": 0,
        }

    def _item_event(self, when: str, item: dict[str, Any], index: int) -> dict[str, Any]:
        return {"type": f"response.output_item.{when}", "output_index": index, "item": item}

    def _summary_event(
        self, what: str, part: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        assert self._reasoning is not None
        event = {
            "type": f"response.reasoning_summary_{what}",
            "item_id": self._reasoning["id"],
            "output_index": 0,
            "summary_index": 0,
            **fields,
        }
        if part is not None:
            event["part"] = part
        return event
