"""Hand a sentence to the TTS at its last character when nothing it could be continues it.

Pipecat's sentence aggregator does not trust a full stop until the next word shows: "Dr." and
"3." go on ("Dr. Smith", "3.5"), so it holds "The capital of Italy is Rome." until more text
comes, which is the next token (~17 ms a token with the local model on one core) or, for a
one-sentence answer, the end of the stream (the model's end token, then the result relayed
through the server). Here a sentence goes as soon as its mark arrives, when the text cannot be
an abbreviation or a number:

- it ends with `?` or `!` (closing quotes or brackets allowed after them);
- or with `.` after a word of at least two letters that is not a common abbreviation
  ("Mr", "Dr", "St", "etc"...): not "3." or "U.S." or "p.m.".

Anything else waits for the next word, as Pipecat's does. A mark inside a chunk (".5" in
one token) is Pipecat's to judge: only a chunk that ends with the mark is sent early.

Measured in the app's debug log (`python -m bench.voice -n 3 -- --log-level=debug`, the text
chunks logged as they reached the TTS), one-sentence answers: the final "." to Piper starting
24-36 ms with Pipecat's aggregator (the end token, then the stream's end), 1-3 ms with this.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from pipecat.utils.text.base_text_aggregator import Aggregation, TextType
from pipecat.utils.text.simple_text_aggregator import SimpleTextAggregator

ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr vs etc prof mt ft inc ltd co corp approx dept est fig vol".split()
)
_MARKS = ".?!"
_CLOSERS = "\"'\u2019\u201d)]"
_CLEAR_END = re.compile(rf"(?:[?!]|(?<![A-Za-z.'])([A-Za-z][A-Za-z']+)\.)[{re.escape(_CLOSERS)}]*$")


def clear_end(text: str) -> bool:
    """Whether `text` ends a sentence however it goes on."""
    found = _CLEAR_END.search(text.rstrip(" "))
    return found is not None and (found.group(1) or "").lower() not in ABBREVIATIONS


class SentenceEndAggregator(SimpleTextAggregator):
    """Pipecat's sentence aggregator, handing on a clearly ended sentence without waiting."""

    async def aggregate(self, text: str) -> AsyncIterator[Aggregation]:
        async for sentence in super().aggregate(text):
            yield sentence
        last = text.rstrip(" ")[-1:]
        if last and last in _MARKS + _CLOSERS and clear_end(self._text):
            sentence = self._text.strip(" ")
            await SimpleTextAggregator.reset(self)  # the buffer only, not a subclass's state
            yield Aggregation(text=sentence, type=TextType.SENTENCE)
