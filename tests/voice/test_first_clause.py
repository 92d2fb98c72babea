"""The first clause of each answer goes to Piper as soon as it is written."""

from __future__ import annotations

import pytest

from voice.service_factory import create_tts
from voice.services.first_clause import FirstClauseAggregator, ends_sentence, first_cut
from voice.services.piper_tts import PiperTTSService
from voice.settings import Settings, load_settings


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("The capital of France is Paris.", "The capital of France"),
        ("Sure, I can help with that ", "Sure,"),
        ("Paris sits on the Seine; a river ", "Paris sits on the Seine;"),
        ("Paris \u2014 the city of light ", "Paris \u2014"),
        (
            "one two three four five six seven eight nine ",
            "one two three four five six seven eight",
        ),
        ("Rome is the capital of Italy", None),  # "is" too early, no clause mark: whole
        ("The capital of France is", None),  # "is" not yet known to be a whole word
    ],
)
def test_where_the_first_clause_ends(text: str, first: str | None):
    at = first_cut(text)

    assert (text[:at] if at is not None else None) == first


async def spoken(aggregator: FirstClauseAggregator, tokens: list[str]) -> list[str]:
    """What the TTS would synthesize, in order, for an answer streamed as `tokens`."""
    out = [a.text for token in tokens async for a in aggregator.aggregate(token)]
    if rest := await aggregator.flush():
        out.append(rest.text)
    return out


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        ("The capital of France is Paris.", True),
        ("Really?", True),
        ('He said "go."', True),
        ("Wait\u2026 ", True),
        ("The capital of France", False),
        ("Sure,", False),
        ("Paris sits on the Seine;", False),
        ("It costs 3.5", False),
    ],
)
def test_what_ends_a_sentence(text: str, ends: bool):
    # Piper keeps its pause after a sentence, and only a short one after a clause.
    assert ends_sentence(text) is ends


async def test_the_first_clause_then_whole_sentences_in_every_answer():
    aggregator = FirstClauseAggregator()
    answer = ["The", " capital", " of", " France", " is", " Paris", ".", " It", " is", " on",
              " the", " Seine", ",", " a", " river", "."]  # fmt: skip

    assert await spoken(aggregator, answer) == [
        "The capital of France",
        "is Paris.",
        "It is on the Seine, a river.",  # after the first cut, whole sentences only
    ]
    assert await spoken(aggregator, ["Yes", ",", " of", " course", "."]) == ["Yes,", "of course."]


async def test_a_short_answer_is_spoken_whole():
    assert await spoken(FirstClauseAggregator(), ["Rome", " is", " the", " capital", "."]) == [
        "Rome is the capital."
    ]


async def test_an_interruption_starts_the_next_answer_with_a_clause_again():
    aggregator = FirstClauseAggregator()
    assert [a.text async for a in aggregator.aggregate("Sure, I")] == ["Sure,"]
    await aggregator.handle_interruption()  # the caller barged in after "Sure,"

    assert await spoken(aggregator, ["Well", ",", " no", "."]) == ["Well,", "no."]


def test_piper_cuts_the_first_clause_only_when_asked():
    assert isinstance(PiperTTSService(first_clause=True)._text_aggregator, FirstClauseAggregator)
    assert not isinstance(PiperTTSService()._text_aggregator, FirstClauseAggregator)
    assert create_tts(Settings(first_clause=True))._text_aggregator.__class__ is (
        FirstClauseAggregator
    )


def test_the_first_clause_flag():
    assert not load_settings([], {}).first_clause
    assert load_settings(["--first-clause"], {}).first_clause
    assert load_settings([], {"VOICE_FIRST_CLAUSE": "1"}).first_clause
