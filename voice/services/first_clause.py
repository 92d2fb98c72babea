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

Piper ends every text with its sentence pause (0.1-0.25 s); a clause keeps only
`CUT_PAUSE_SECS` of it (`piper_tts`), so the cut is heard as a short breath, not a full stop.

Off by default (`--first-clause`): with the local model on 2 cores (`python -m bench.voice
-n 12 --compare-app clause=--first-clause`, two runs) the first audio came 0.89x and 0.96x as
late at p50, 0.89x and 0.86x at p90 (the wait for the first sentence 164-182 -> 106-116 ms
p50), but each answer was 0.2-0.28 s longer (Piper says a clause, and what follows it, as
sentences of their own: a falling "France", then "is Paris.") and the first run was before
the pause was shortened. Earlier, with Piper speaking whole sentences, it was no sooner at
all. Since a sentence goes to Piper at its full stop (`eager_sentences`), not at the token
after it, it is no sooner again (`python -m bench.voice -n 8 --barge-in-trials 0 --rounds 3
--compare-app clause=--first-clause`, 2026-12-08: 1.00x first audio at p50, 0.96x, 1.06x,
1.02x round by round; the wait for the first text 141 -> 126 ms p50, Piper's first audio
106 -> 122, each answer 0.17 s longer). A first sentence that takes longer to write (a
hosted model's) is where it pays most.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from pipecat.utils.text.base_text_aggregator import Aggregation, TextType

from voice.services.eager_sentences import EagerSentenceAggregator

CUT_PAUSE_SECS = 0.05
"""The silence kept after a first clause (Piper ends each text it speaks with 0.1-0.25 s of
it, a sentence's pause): "The capital of France | is Paris." with the whole pause, 0.38 s
longer than the sentence spoken whole."""

MIN_WORDS = 3
MAX_WORDS = 8
PHRASE_STARTS = frozenset(
    "is are was were has have will can and but or because which who when where while if".split()
)
_CLAUSE_MARKS = ",;:\u2013\u2014"
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u2019\u201d)\]]*\s*$")
_WORD = re.compile(r"\S+(?=\s)")  # a word the next character has shown to be complete


def ends_sentence(text: str) -> bool:
    """Whether `text` ends a sentence (a clause cut off by `first_cut` does not)."""
    return _SENTENCE_END.search(text) is not None


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


class FirstClauseAggregator(EagerSentenceAggregator):
    """The sentence aggregator (`eager_sentences`), cutting each answer's first clause off early."""

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
