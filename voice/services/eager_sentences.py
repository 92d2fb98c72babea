"""End a sentence at its full stop when the next word cannot change that, not one token later.

Pipecat's sentence aggregator holds "The capital of France is Paris." until the first letter
after it arrives, and only then asks sentencex whether the stop ends a sentence ("Dr. S" and
"$29.9" do not). A model writes the stop as a token of its own, so the TTS waits one more
token (~20-30 ms for the local model on 2 cores), and after an answer's last sentence it waits
for the end of the whole stream.

Here, at each stop, sentencex is asked at once whether the text would end a sentence if a
capitalized word came next. When it would, the sentence goes to the TTS now; a later word could
only have kept it from ending where sentencex sees an abbreviation or a number, so a stop
after a digit ("3." of "3.5") and every stop sentencex would not split before a capital ("Dr.",
"No.", "e.g.", "U.S.") still wait for Pipecat's lookahead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pipecat.utils.string import SENTENCE_ENDING_PUNCTUATION, match_endofsentence
from pipecat.utils.text.base_text_aggregator import Aggregation, TextType
from pipecat.utils.text.simple_text_aggregator import SimpleTextAggregator

_NEXT_WORD = " A"  # stands for a following sentence's first word


def ends_for_sure(text: str, language: str | None = None) -> bool:
    """Whether `text`, ending in a sentence mark, ends a sentence whatever is written next."""
    if not text or text[-1] not in SENTENCE_ENDING_PUNCTUATION:
        return False
    if text[-1] == "." and (len(text) < 2 or text[-2].isdigit()):
        return False
    return match_endofsentence(text + _NEXT_WORD, language=language) == len(text.rstrip())


class EagerSentenceAggregator(SimpleTextAggregator):
    """Pipecat's sentence aggregator, letting a sentence go at its stop when it surely ends."""

    async def aggregate(self, text: str) -> AsyncIterator[Aggregation]:
        if self._aggregation_type != TextType.SENTENCE:
            async for aggregation in super().aggregate(text):
                yield aggregation
            return
        for n, char in enumerate(text, 1):
            self._text += char
            # Within a token the next character is already here ("..." is one token); a
            # token may end in the space or line break after its stop (".\n").
            if n == len(text) and ends_for_sure(self._text.rstrip(), self.language):
                sentence = self._text.strip()
                await SimpleTextAggregator.reset(self)  # nothing pending for what went
                yield Aggregation(text=sentence, type=TextType.SENTENCE)
            elif result := await self._check_sentence_with_lookahead(char):
                yield result
