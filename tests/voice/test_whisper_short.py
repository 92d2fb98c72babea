"""Whisper in a window shorter than its 30 s (`--stt-window`): the question heard, wherever
the segment starts, never looped into the padding, silence seen as silence, and the setting
reaching the model."""

from __future__ import annotations

import re

import numpy as np
import pytest

from harness.speech import speak
from voice.service_factory import create_stt
from voice.services.whisper_short import transcribe_short
from voice.services.whisper_stt import default_model_path, load_decoder, load_model
from voice.settings import Settings, load_settings

# (question, a word Whisper must hear in it)
QUESTIONS = [
    ("What is the capital of France?", "capital"),
    ("Tell me about a mountain.", "mountain"),
    ("Tell me a long story about a dragon.", "story"),
    ("And how many people live there?", "people"),
]


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0


@pytest.fixture(scope="module")
def model():
    return load_model(default_model_path())


@pytest.mark.parametrize("window", [4.0, 12.0])
@pytest.mark.parametrize(("question", "word"), QUESTIONS)
def test_a_question_is_heard_once_in_a_short_window(model, question, word, window):
    text, no_speech = transcribe_short(model, samples(speak(question, 16000)), "en", 1, window)

    assert word in words(text), text
    assert len(words(text)) <= len(words(question)) + 1, text  # not looped into the padding
    assert no_speech < 0.4


def test_a_one_thread_decoder_hears_what_the_model_alone_hears(model):
    decoder = load_decoder(default_model_path())
    for question, _ in QUESTIONS:
        audio = samples(speak(question, 16000))

        alone = transcribe_short(model, audio, "en", 1, 12.0)
        split = transcribe_short(model, audio, "en", 1, 12.0, decoder)

        assert split[0] == alone[0] and split[0], (alone, split)
        assert split[1] == pytest.approx(alone[1], abs=1e-3)


@pytest.mark.parametrize("window", [Settings().stt_window, 15.0])
def test_a_word_does_not_flip_with_where_the_segment_starts(model, window):
    """Padded with zeros (louder than Whisper's silence), "France" was "friends" after 0.08,
    0.096 or 0.16 s of leading silence: the VAD's pre-roll moves the start by a frame."""
    question = speak("What is the capital of France?", 16000)
    heard = {
        lead: transcribe_short(model, samples(bytes(2 * lead) + question), "en", 1, window)[0]
        for lead in range(0, 8000, 256)  # 0 to 0.5 s of silence, 16 ms apart
    }

    assert [text for text in heard.values() if "France" not in text] == [], heard


def test_trailing_silence_is_not_filled_with_words(model):
    question, _ = QUESTIONS[0]
    audio = np.concatenate([samples(speak(question, 16000)), np.zeros(16000 * 5, np.float32)])

    text, _ = transcribe_short(model, audio, "en", 1, 4.0)

    assert len(words(text)) <= len(words(question)) + 1, text


def test_silence_is_no_speech(model):
    text, no_speech = transcribe_short(model, np.zeros(16000, np.float32), "en", 1, 12.0)

    assert no_speech >= 0.4 or text == ""


def test_the_window_and_beam_settings_reach_the_service():
    defaults = load_settings([], {})
    assert (defaults.stt_window, defaults.stt_beam) == (8.0, 1)
    settings = load_settings(["--stt-window=30", "--stt-beam=3"], {})

    assert create_stt(settings)._settings.window_secs == 30.0
    assert create_stt(settings)._settings.beam_size == 3
    assert create_stt(Settings())._settings.window_secs == 8.0
    assert create_stt(Settings())._settings.beam_size == 1


@pytest.mark.parametrize("bad", ["0", "11", "wide"])
def test_a_beam_outside_1_to_10_is_refused(bad, capsys):
    with pytest.raises(SystemExit):
        load_settings([f"--stt-beam={bad}"], {})

    assert "--stt-beam" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["1", "31", "soon"])
def test_a_window_outside_2_to_30_seconds_is_refused(bad, capsys):
    with pytest.raises(SystemExit):
        load_settings([f"--stt-window={bad}"], {})

    assert "--stt-window" in capsys.readouterr().err
