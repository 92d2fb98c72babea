"""OpenAI's response shapes: completions, stream chunks, usage and the models list."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from server.cli.events import Usage


def usage_dict(usage: Usage | None) -> dict[str, int]:
    """OpenAI's `usage` object; zeros where the CLI reported nothing. The prompt tokens read
    from the CLI's cache are `prompt_tokens_details.cached_tokens`, as OpenAI reports them."""
    usage = usage or Usage(0, 0)
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def reasoning(text: str) -> dict[str, str]:
    """Thinking as a delta or message field: `reasoning_content` (DeepSeek's name, which most
    clients read) and `reasoning` (vLLM's newer one), the same text in both, never `content`."""
    return {"reasoning_content": text, "reasoning": text}


@dataclass
class CompletionIds:
    """The id, creation time and model shared by every chunk of one completion."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def completion(self, content: str, usage: Usage | None, thinking: str = "") -> dict[str, Any]:
        """A whole `chat.completion` object; `thinking`, when there was any, as its
        reasoning fields."""
        message = {
            "role": "assistant",
            "content": content,
            **(reasoning(thinking) if thinking else {}),
        }
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "stop",
                }
            ],
            "usage": usage_dict(usage),
        }

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        """One `chat.completion.chunk` with a single choice."""
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def usage_chunk(self, usage: Usage | None) -> dict[str, Any]:
        """The closing chunk with `choices: []` sent for `stream_options.include_usage`."""
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage_dict(usage),
        }


def models_list(models: tuple[str, ...], created: int) -> dict[str, Any]:
    """`GET /v1/models` in OpenAI's list shape."""
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": created, "owned_by": "server"}
            for name in models
        ],
    }
