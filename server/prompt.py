"""Flatten an OpenAI `messages` list into the one prompt the CLI receives.

The format (documented in the README) is a short preamble, then every turn in order as a
block tagged with its role on lines of their own:

    <system>
    You are a helpful voice assistant.
    </system>

    <user>
    What is the capital of France?
    </user>

`developer` turns are tagged `system`. A content line that is itself exactly a tag line gets
one extra leading backslash, so a turn can never close its block early; `unflatten` undoes
it, which lets a local model rebuild the turns for its own chat template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREAMBLE = (
    "The conversation so far is below, oldest turn first, each turn inside tags naming its "
    "role. Write the assistant's next reply to it: only the reply's text, with no tags."
)
ROLES = ("system", "developer", "user", "assistant")
_TAG_ROLES = ("system", "user", "assistant")
_TAG_LINE = re.compile(r"^\\*</?(system|user|assistant)>$")


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of the conversation, reduced to its role and text."""

    role: str
    text: str


def flatten(turns: list[Turn]) -> str:
    """Render every turn, in order, as one prompt."""
    blocks = [PREAMBLE]
    for turn in turns:
        role = "system" if turn.role == "developer" else turn.role
        blocks.append(f"<{role}>\n{_escape(turn.text)}\n</{role}>")
    return "\n\n".join(blocks) + "\n"


def unflatten(prompt: str) -> list[Turn]:
    """Recover the turns of a prompt made by `flatten`; a prompt without tags is one user turn."""
    turns: list[Turn] = []
    role: str | None = None
    body: list[str] = []
    for line in prompt.split("\n"):
        if role is None:
            if line.startswith("<") and line.endswith(">") and line[1:-1] in _TAG_ROLES:
                role, body = line[1:-1], []
        elif line == f"</{role}>":
            turns.append(Turn(role, "\n".join(_unescape(b) for b in body)))
            role = None
        else:
            body.append(line)
    if not turns:
        return [Turn("user", prompt.strip())]
    return turns


def _escape(text: str) -> str:
    return "\n".join("\\" + line if _TAG_LINE.match(line) else line for line in text.split("\n"))


def _unescape(line: str) -> str:
    return line[1:] if line.startswith("\\") and _TAG_LINE.match(line) else line
