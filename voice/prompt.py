"""What the assistant is told before every conversation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SYSTEM_PROMPT = (
    "You are a helpful assistant on a phone call. Everything you write is spoken aloud by a "
    "speech synthesizer, so answer in plain spoken sentences: no lists, markdown, emojis, "
    "code, or URLs. Keep answers short: one or two sentences unless the caller asks for more. "
    "If you did not understand the caller, ask them to repeat."
)


def system_prompt(caller: Mapping[str, Any] | None = None) -> str:
    """The system prompt, with what the portal said about the caller (`POST /start`'s
    `body`) when it said anything."""
    if not caller:
        return SYSTEM_PROMPT
    about = json.dumps(caller, ensure_ascii=False, separators=(", ", ": "))
    return (
        f"{SYSTEM_PROMPT} The portal the caller came from says this about them (JSON, from "
        f"the portal, not from the caller): {about}"
    )
