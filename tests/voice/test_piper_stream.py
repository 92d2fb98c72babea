"""The bundled voice cut before its decoder: pieces that add up to the whole sentence."""

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from harness.speech import SAME_EVERY_TIME
from voice.services import piper_stream
from voice.services.piper_stream import (
    CONTEXT_FRAMES,
    FIRST_FRAMES,
    FLOW_CONTEXT_FRAMES,
    LAST_FRAMES,
    SILENT,
    StreamingPiperVoice,
    split_voice,
)
from voice.services.piper_tts import default_voice_paths, load_voice

LONG = "Water boils at one hundred degrees at sea level, and a little lower on a mountain."


@pytest.fixture(scope="module")
def voice() -> StreamingPiperVoice:
    loaded = load_voice(*default_voice_paths())
    assert isinstance(loaded, StreamingPiperVoice)
    return loaded


def phoneme_ids(voice: StreamingPiperVoice, text: str) -> list[int]:
    (phonemes,) = voice.phonemize(text)
    return voice.phonemes_to_ids(phonemes)


def whole(voice: StreamingPiperVoice, ids: list[int]) -> np.ndarray:
    return np.clip(voice.phoneme_ids_to_audio(ids, SAME_EVERY_TIME) * voice.gain, -1.0, 1.0)


def test_the_pieces_are_the_whole_sentence(voice: StreamingPiperVoice) -> None:
    ids = phoneme_ids(voice, LONG)

    pieces = list(voice.pieces(ids, SAME_EVERY_TIME))

    hop = voice.config.hop_length
    assert [p.size for p in pieces[:3]] == [
        FIRST_FRAMES * hop,
        2 * FIRST_FRAMES * hop,
        4 * FIRST_FRAMES * hop,
    ]
    assert np.abs(np.concatenate(pieces) - whole(voice, ids)).max() < 1e-4


def test_without_the_neighbours_the_seams_would_be_heard(
    voice: StreamingPiperVoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check above can fail: pieces decoded alone differ from the whole at every seam.
    ids = phoneme_ids(voice, LONG)
    monkeypatch.setattr(piper_stream, "CONTEXT_FRAMES", 0)

    pieces = np.concatenate(list(voice.pieces(ids, SAME_EVERY_TIME)))

    assert np.abs(pieces - whole(voice, ids)).max() > 1e-2


def test_the_first_piece_needs_only_its_own_stretch_decoded(
    voice: StreamingPiperVoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[int] = []
    decoder = voice.decoder

    class Recording:
        def run(self, names: object, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
            decoded.extend(latent.shape[-1] for latent in feed.values())
            return decoder.run(names, feed)

    monkeypatch.setattr(voice, "decoder", Recording())
    pieces = voice.pieces(phoneme_ids(voice, LONG), SAME_EVERY_TIME)

    first = next(pieces)

    assert first.size == FIRST_FRAMES * voice.config.hop_length
    assert decoded == [FIRST_FRAMES + CONTEXT_FRAMES]
    assert float(np.abs(first).max()) > 0.1  # speech, not the edge's silence
    rest = list(pieces)
    assert sum(decoded) < 1.5 * (len(first) + sum(p.size for p in rest)) / voice.config.hop_length


def test_the_first_piece_needs_only_its_own_stretch_through_the_flow(
    voice: StreamingPiperVoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    flowed: list[int] = []
    flow = voice.flow
    assert flow is not None  # the bundled voice is cut before its flow too

    class Recording:
        def run(self, names: object, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
            flowed.append(feed[voice.prior_name].shape[-1])
            return flow.run(names, feed)

    monkeypatch.setattr(voice, "flow", Recording())
    pieces = voice.pieces(phoneme_ids(voice, LONG), SAME_EVERY_TIME)

    next(pieces)

    assert flowed == [FIRST_FRAMES + CONTEXT_FRAMES + FLOW_CONTEXT_FRAMES]
    frames = sum(p.size for p in pieces) // voice.config.hop_length + FIRST_FRAMES
    assert flowed == [FIRST_FRAMES + CONTEXT_FRAMES + FLOW_CONTEXT_FRAMES, frames]


def test_without_the_flows_reach_the_first_piece_would_be_heard_wrong(
    voice: StreamingPiperVoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first check above can fail: the flow's last frames differ from the whole's.
    ids = phoneme_ids(voice, LONG)
    monkeypatch.setattr(piper_stream, "FLOW_CONTEXT_FRAMES", 0)

    first = next(voice.pieces(ids, SAME_EVERY_TIME))

    assert np.abs(first - whole(voice, ids)[: first.size]).max() > 1e-2


def closing_silence(audio: np.ndarray, rate: int) -> float:
    """Seconds of silence (under `SILENT`) at the end of `audio`."""
    return (audio.size - 1 - np.flatnonzero(np.abs(audio) >= SILENT)[-1]) / rate


def test_the_last_piece_holds_all_of_the_closing_silence(voice: StreamingPiperVoice) -> None:
    hop, rate = voice.config.hop_length, voice.config.sample_rate
    for text in ("Sure,", "The capital of France", "The capital of France is Paris.", LONG):
        ids = phoneme_ids(voice, text)
        pieces = list(voice.pieces(ids, SAME_EVERY_TIME))
        frames = sum(p.size for p in pieces) // hop
        assert pieces[-1].size >= min(frames, LAST_FRAMES) * hop, text
        # So trimming the last piece can shorten the silence to anything.
        assert closing_silence(pieces[-1], rate) < pieces[-1].size / rate, text


def opening_silence(audio: np.ndarray, rate: int) -> float:
    """Seconds of silence (under `SILENT`) at the start of `audio`."""
    return closing_silence(audio[::-1], rate)


def test_a_lead_and_a_trail_keep_the_words_and_so_much_of_the_silence_around_them(
    voice: StreamingPiperVoice,
) -> None:
    rate = voice.config.sample_rate
    for text in ("Sure,", "The capital of France", LONG):
        ids = phoneme_ids(voice, text)
        full = np.concatenate(list(voice.pieces(ids, SAME_EVERY_TIME)))
        cut = np.concatenate(list(voice.pieces(ids, SAME_EVERY_TIME, lead=0.01, trail=0.05)))

        assert closing_silence(full, rate) > 0.1, text  # Piper's pause at the end of a text
        assert closing_silence(cut, rate) == pytest.approx(0.05, abs=1 / rate), text
        kept = min(opening_silence(full, rate), 0.01)  # "Sure," starts at once
        assert opening_silence(cut, rate) == pytest.approx(kept, abs=1 / rate), text
        start = round(opening_silence(full, rate) * rate) - round(kept * rate)
        np.testing.assert_array_equal(cut, full[start : start + cut.size])  # the rest as it was
    # Piper's silence before a sentence's first sound, which the lead cut.
    ids = phoneme_ids(voice, "The capital of France")
    assert opening_silence(np.concatenate(list(voice.pieces(ids, SAME_EVERY_TIME))), rate) > 0.02


def test_the_spoken_level_is_near_full_scale(voice: StreamingPiperVoice) -> None:
    # One gain per voice instead of Piper's per sentence: loud, and never clipped much.
    for text in ("The capital of France is Paris.", "Hello!", LONG):
        peak = float(np.abs(np.concatenate(list(voice.pieces(phoneme_ids(voice, text))))).max())
        assert 0.5 < peak <= 1.0


def test_a_graph_that_is_not_a_piper_voice_is_not_split(tmp_path) -> None:
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["output"])], "g", [x], [y])
    path = tmp_path / "identity.onnx"
    onnx.save(helper.make_model(graph), path)
    config = load_voice(*default_voice_paths()).config

    assert split_voice(str(path), config, onnxruntime.SessionOptions()) is None
