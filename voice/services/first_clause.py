"""Speak an answer's first clause as soon as it is written, then whole sentences.

Pipecat's TTS services wait for a whole sentence before synthesizing it: the caller hears
nothing until the model has written the first sentence's last word, and Piper then spends
longer on a long sentence than on a short one. So the first text of each answer is cut
earlier, at the first place a speaker would pause anyway:

- a clause mark (`,` `;` `:` or a dash) followed by a space: "Sure, | I can help.";
- else just before a word that starts a new phrase ("is", "and", "which"...) once
  `MIN_WORDS` come before it: "The capital of France | is Paris.";
- else after `MAX_WORDS` words, so a long first sentence with no such place starts too.

Everything after the first cut is spoken in whole sentences, as before; a first sentence
shorter than any cut is spoken whole.

Off by default (`--first-clause`): with the local model on 2 cores the first audio was no
sooner (728 ms p50 whole sentences, 753 with the clause, `python -m bench.voice
--compare-app`): Piper then synthesizes while the model is still writing, the two share the
cores, and each cut adds Piper's pause, half a second over an answer. A first sentence that
takes longer to write (a hosted model's) is where it can pay.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from pipecat.utils.text.base_text_aggregator import Aggregation, TextType
from pipecat.utils.text.simple_text_aggregator import SimpleTextAggregator

MIN_WORDS = 3
MAX_WORDS = 8
PHRASE_STARTS = frozenset(
    "is are was were has have will can and but or because which who when where while if".split()
)
_CLAUSE_MARKS = ",;:\u2013\u2014"
_WORD = re.compile(r"\S+(?=\s)")  # a word the next character has shown to be complete


def first_cut(text: str) -> int | None:
    """Where to cut the first clause off `text` (an index into it), or None for not yet."""
    words = list(_WORD.finditer(text))
    for n, word in enumerate(words, 1):
        if n > MIN_WORDS and word.group().lower().strip("\"'") in PHRASE_STARTS:
            return words[n - 2].end()
        if word.group()[-1] in _CLAUSE_MARKS or set(word.group()) <= {"-", "\u2013", "\u2014"}:
            return word.end()
        if n == MAX_WORDS:
            return word.end()
    return None


class FirstClauseAggregator(SimpleTextAggregator):
    """Pipecat's sentence aggregator, cutting each answer's first clause off early."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._cut = False  # whether this answer's first text has gone out

    async def aggregate(self, text: str) -> AsyncIterator[Aggregation]:
        async for sentence in super().aggregate(text):
            self._cut = True
            yield sentence
        if self._cut:
            return
        at = first_cut(self._text)
        if at is not None:
            self._cut = True
            clause, self._text = self._text[:at].strip(), self._text[at:]
            yield Aggregation(text=clause, type=TextType.SENTENCE)

    async def flush(self) -> Aggregation | None:
        self._cut = False  # the answer is over: the next one starts with a clause again
        return await super().flush()

    async def handle_interruption(self):
        self._cut = False
        await super().handle_interruption()

    async def reset(self):
        self._cut = False
        await super().reset()
