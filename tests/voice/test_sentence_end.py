"""A sentence goes to the TTS at its last mark when nothing it could be continues it."""

from __future__ import annotations

import pytest

from voice.service_factory import create_tts
from voice.services.first_clause import FirstClauseAggregator
from voice.services.piper_tts import PiperTTSService
from voice.services.sentence_end import SentenceEndAggregator, clear_end
from voice.settings import Settings


async def heard(aggregator: SentenceEndAggregator, tokens: list[str]) -> list[tuple[int, str]]:
    """Each sentence the TTS would get for an answer streamed as `tokens`, with the index of
    the token it came out at (`len(tokens)` for the flush at the answer's end)."""
    out = [(i, a.text) for i, token in enumerate(tokens) async for a in aggregator.aggregate(token)]
    if rest := await aggregator.flush():
        out.append((len(tokens), rest.text))
    return out


@pytest.mark.parametrize(
    ("text", "clear"),
    [
        ("The capital of Italy is Rome.", True),
        ("No.", True),
        ("Really?", True),
        ("Yes!", True),
        ("Wow?!", True),
        ("I'm fine.", True),
        ('He said "go."', True),
        ("It is 5 o'clock.", True),
        ("I saw Dr.", False),  # Dr. Smith
        ("It costs 3.", False),  # 3.5
        ("Call me at 5 p.m.", False),
        ("The U.S.", False),
        ("Apples, pears, etc.", False),
        ("Well...", False),
        ("Plan A.", False),
        ("The capital of Italy", False),
    ],
)
def test_which_ends_are_clear(text: str, clear: bool):
    assert clear_end(text) is clear


async def test_each_sentence_goes_at_its_mark_not_at_the_next_token():
    answer = ["The", " capital", " of", " Italy", " is", " Rome", ".", " It", " is", " old", "."]

    assert await heard(SentenceEndAggregator(), answer) == [
        (6, "The capital of Italy is Rome."),
        (10, "It is old."),  # not at the answer's end
    ]


async def test_an_abbreviation_or_a_number_waits_for_what_follows():
    answer = ["I", " saw", " Dr", ".", " Smith", ".", " It", " cost", " 3", ".", "5", "."]

    assert await heard(SentenceEndAggregator(), answer) == [
        (5, "I saw Dr. Smith."),
        (12, "It cost 3.5."),  # after a number, even the last mark waits for the end
    ]


async def test_a_mark_inside_a_token_is_judged_as_pipecat_does():
    answer = ["It", " is", " Rome", ". It", " is", " old", "."]

    assert await heard(SentenceEndAggregator(), answer) == [(3, "It is Rome."), (6, "It is old.")]


async def test_the_first_clause_aggregator_also_sends_a_sentence_at_its_mark():
    answer = ["Sure", ",", " it", " is", " Rome", ".", " It", " is", " old", "."]

    assert await heard(FirstClauseAggregator(), answer) == [
        (2, "Sure,"),  # " it" shows the clause mark ends a word
        (5, "it is Rome."),
        (9, "It is old."),
    ]


def test_piper_speaks_sentences_at_their_marks_by_default():
    assert type(PiperTTSService()._text_aggregator) is SentenceEndAggregator
    assert type(create_tts(Settings())._text_aggregator) is SentenceEndAggregator
