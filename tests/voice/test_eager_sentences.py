"""A sentence goes to the TTS at its full stop when no next word could change that."""

from __future__ import annotations

import pytest

from voice.service_factory import create_tts
from voice.services.eager_sentences import EagerSentenceAggregator, ends_for_sure
from voice.settings import Settings


@pytest.mark.parametrize(
    ("text", "sure"),
    [
        ("The capital of France is Paris.", True),
        (" It is on the Seine.", True),
        ("Really?", True),
        ("Yes!", True),
        ("Wait...", True),
        ("It costs $29.", False),  # "$29.99"
        ("It is 3.", False),  # "3.5"
        ("Ask Dr.", False),
        ("No.", False),  # "No. 5"
        ("Washington, D.C.", False),
        ("Albert I.", False),
        ("The capital of France", False),
        ("Sure,", False),
        ("", False),
    ],
)
def test_which_stops_surely_end_a_sentence(text: str, sure: bool):
    assert ends_for_sure(text) is sure


async def sentences_as_written(tokens: list[str]) -> list[tuple[str, str]]:
    """Each sentence for the TTS, with the token whose arrival let it go."""
    aggregator = EagerSentenceAggregator()
    out = [(a.text, token) for token in tokens async for a in aggregator.aggregate(token)]
    if rest := await aggregator.flush():
        out.append((rest.text, "(end)"))
    return out


async def test_a_sentence_goes_at_its_stop_not_at_the_next_token():
    answer = ["The", " capital", " of", " France", " is", " Paris", ".", " It", " is", " on",
              " the", " Seine", "!"]  # fmt: skip

    assert await sentences_as_written(answer) == [
        ("The capital of France is Paris.", "."),
        ("It is on the Seine!", "!"),
    ]


async def test_numbers_and_abbreviations_wait_for_what_follows():
    answer = [" It", " costs", " $", "2", "9", ".", "9", "9", ".", " Dr", ".", " Smith",
              " agrees", ".", " No", ".", " 5", " is", " next"]  # fmt: skip

    assert await sentences_as_written(answer) == [
        ("It costs $29.99.", " Dr"),  # "99." could still have been "99.5"
        ("Dr. Smith agrees.", "."),
        ("No. 5 is next", "(end)"),
    ]


async def test_a_token_with_more_after_its_stop_is_read_whole():
    # "..." comes as one token: its first stop does not cut "Well." off.
    assert await sentences_as_written(["Well", "...", " maybe", "."]) == [
        ("Well...", "..."),
        ("maybe.", "."),
    ]


async def test_a_stop_and_the_space_after_it_in_one_token_let_the_sentence_go():
    assert await sentences_as_written(["Paris", ".\n", "It", " is", " 3", ".\n"]) == [
        ("Paris.", ".\n"),
        ("It is 3.\n", "(end)"),  # "3.\n" could still be "3.\n5", a list's item
    ]


def test_piper_speaks_eager_sentences_by_default():
    assert type(create_tts(Settings())._text_aggregator) is EagerSentenceAggregator
