"""From stdin's stream-json user messages to the chat messages the model's template renders."""

from __future__ import annotations

import json
from dataclasses import dataclass

from server.cli.command import CACHE_ONLY, READ_AHEAD, REPLACES_ANSWER
from server.local_cli.errors import InputError
from server.prompt import Turn, unflatten


@dataclass(frozen=True)
class UserMessage:
    """One stdin user message: its prompt, and how it continues the conversation: `read_ahead`
    (read it, do not answer: the server sends it to a fresh process with a conversation whose
    process it ended), `replaces_answer` (its turns replace the conversation's last answer:
    the client kept another, such as the part a caller heard before barging in),
    `cache_only` (read its turns after the conversation into the cache, not into the
    conversation: what the server guesses the next message starts with, such as an answer
    cut off as the caller barged in)."""

    prompt: str
    read_ahead: bool = False
    replaces_answer: bool = False
    cache_only: bool = False


def read_user_message(line: bytes) -> UserMessage:
    """The message in one stdin line `{"type":"user","message":{"role":"user",...}}`.

    `content` is a string or, as in Anthropic's API, a list of blocks whose text blocks are
    joined. Raises `InputError` for anything else, or for a prompt with no text.
    """
    try:
        message = json.loads(line)
    except ValueError as e:
        raise InputError(f"stdin line is not JSON: {_preview(line)}") from e
    if not isinstance(message, dict) or message.get("type") != "user":
        raise InputError(f"stdin line is not a stream-json user message: {_preview(line)}")
    inner = message.get("message")
    content = inner.get("content") if isinstance(inner, dict) else None
    if isinstance(content, list):
        texts = [b.get("text") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        content = "\n\n".join(t for t in texts if isinstance(t, str))
    if not isinstance(content, str):
        raise InputError("the user message has no text content")
    if not content.strip():
        raise InputError("the prompt is empty")
    return UserMessage(
        content,
        message.get(READ_AHEAD) is True,
        message.get(REPLACES_ANSWER) is True,
        message.get(CACHE_ONLY) is True,
    )


def prompt_turns(prompt: str) -> list[Turn]:
    """The turns of a prompt flattened by `server.prompt.flatten` (or one plain user turn)."""
    turns = [turn for turn in unflatten(prompt) if turn.text.strip()]
    if not turns:
        raise InputError("the prompt has no text in any turn")
    return turns


def chat_messages(turns: list[Turn], instruction: str) -> list[dict[str, str]]:
    """OpenAI-shaped messages: `instruction` and the leading system turns as one system message.

    Ours comes first so that a caller's own system prompt, which is more specific, has the
    last word. One merged system message suits templates that allow a single one at the top;
    system turns later in the conversation stay where they are.
    """
    leading = 0
    while leading < len(turns) and turns[leading].role == "system":
        leading += 1
    system = system_message(instruction, *(t.text for t in turns[:leading]))
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": t.role, "content": t.text} for t in turns[leading:]]
    return messages


def system_message(instruction: str, *system_turns: str) -> str:
    """The one system message `chat_messages` makes of `instruction` and a conversation's
    leading system turns; empty when none has text."""
    return "\n\n".join(text for text in (instruction, *system_turns) if text.strip())


def _preview(line: bytes, limit: int = 80) -> str:
    text = line.decode("utf-8", errors="replace").strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")
