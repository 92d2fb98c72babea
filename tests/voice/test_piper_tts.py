"""PiperTTSService in a Pipecat pipeline: its frames, its audio, and barge-in."""

import asyncio

import numpy as np
import pytest
from pipecat.frames.frames import (
    Frame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.tests.utils import run_test

from harness.speech import (
    QUESTION,
    START_TIMEOUT,
    pcm_seconds,
    resample,
    rms,
    speech_segment,
    transcribe,
)
from tests.voice.tts_barge_in import speak_then_barge_in
from voice.services.first_clause import CUT_PAUSE_SECS
from voice.services.piper_stream import SILENT
from voice.services.piper_tts import PiperTTSService, default_voice_paths, load_voice

LONG_REPLY = " ".join(f"This is sentence number {n} of a long reply." for n in range(1, 13))


async def speak_frames(frames: list[Frame], **service_args: object) -> list[Frame]:
    """Run ``frames`` through a fresh service and return every frame it pushed downstream."""
    down, _ = await run_test(
        PiperTTSService(**service_args), frames_to_send=frames, start_timeout=START_TIMEOUT
    )
    return list(down)


def audio_of(frames: list[Frame]) -> list[TTSAudioRawFrame]:
    return [f for f in frames if isinstance(f, TTSAudioRawFrame)]


def kinds(frames: list[Frame]) -> list[type]:
    """The frame types, with runs of audio frames collapsed to one entry."""
    out: list[type] = []
    for frame in frames:
        if not (out and out[-1] is TTSAudioRawFrame and isinstance(frame, TTSAudioRawFrame)):
            out.append(type(frame))
    return out


@pytest.mark.parametrize("sample_rate", [None, 22050, 16000])
async def test_speaks_at_the_declared_sample_rate(sample_rate: int | None) -> None:
    frames = await speak_frames([TTSSpeakFrame(QUESTION)], sample_rate=sample_rate)

    audio = audio_of(frames)
    pcm = b"".join(f.audio for f in audio)
    expected_rate = sample_rate or 24000  # None: the pipeline's output rate, 24 kHz by default
    assert {(f.sample_rate, f.num_channels) for f in audio} == {(expected_rate, 1)}
    assert all(len(f.audio) % 2 == 0 for f in audio)
    assert 1.0 < pcm_seconds(pcm, expected_rate) < 4.0  # about 1.8 s of speech
    assert rms(pcm) > 500


async def test_started_then_audio_then_stopped_in_one_context() -> None:
    frames = await speak_frames([TTSSpeakFrame(QUESTION)])

    sequence = kinds(frames)
    started, stopped = sequence.index(TTSStartedFrame), sequence.index(TTSStoppedFrame)
    assert sequence.count(TTSStartedFrame) == sequence.count(TTSStoppedFrame) == 1
    assert started < sequence.index(TTSAudioRawFrame) < stopped
    assert sequence.count(TTSAudioRawFrame) == 1  # one unbroken run of audio
    contexts = {f.context_id for f in frames if isinstance(f, (TTSStartedFrame, TTSAudioRawFrame))}
    assert len(contexts) == 1


async def test_llm_reply_streams_a_frame_per_sentence() -> None:
    reply = ["The capital", " of France is Paris.", " It is on the Seine.", " Ask me more."]
    frames = await speak_frames(
        [LLMFullResponseStartFrame(), *map(LLMTextFrame, reply), LLMFullResponseEndFrame()]
    )

    spoken = [f.text for f in frames if isinstance(f, TTSTextFrame)]
    assert spoken == ["The capital of France is Paris.", "It is on the Seine.", "Ask me more."]
    assert len(audio_of(frames)) >= 3
    assert kinds(frames).count(TTSStartedFrame) == kinds(frames).count(TTSStoppedFrame) == 1


async def test_a_text_cut_off_mid_sentence_ends_with_a_short_pause() -> None:
    # A first clause (`--first-clause`) goes on into the next text: Piper's end-of-sentence
    # pause there would be heard as a gap in the sentence.
    def closing_silence(frames: list[Frame]) -> float:
        audio = np.frombuffer(b"".join(f.audio for f in audio_of(frames)), np.int16)
        loud = np.flatnonzero(np.abs(audio) >= SILENT * 32767)
        return (audio.size - 1 - loud[-1]) / 24000

    clause, sentence = "The capital of France", "The capital of France."
    spoken = await asyncio.gather(*(speak_frames([TTSSpeakFrame(t)]) for t in (clause, sentence)))

    assert closing_silence(spoken[0]) <= CUT_PAUSE_SECS + 0.01  # + the resampler's
    assert closing_silence(spoken[1]) > 0.1


async def test_concurrent_sessions_each_get_their_audio() -> None:
    sessions = [speak_frames([TTSSpeakFrame(QUESTION)]) for _ in range(3)]

    results = await asyncio.gather(*sessions)

    for frames in results:
        pcm = b"".join(f.audio for f in audio_of(frames))
        assert 1.0 < pcm_seconds(pcm, 24000) < 4.0
        assert kinds(frames).count(TTSStoppedFrame) == 1


async def test_barge_in_stops_synthesis_at_the_sentence_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    voice = load_voice(*default_voice_paths())
    sentences_synthesized: list[int] = []
    pieces = voice.pieces

    def counting(*args: object, **kwargs: object) -> object:
        sentences_synthesized.append(1)
        return pieces(*args, **kwargs)

    monkeypatch.setattr(voice, "pieces", counting)

    before, after = await speak_then_barge_in(PiperTTSService(), TTSSpeakFrame(LONG_REPLY))

    # Twelve sentences asked for: the first was heard, at most the next ones in flight ran.
    assert 1 <= len(sentences_synthesized) <= 3
    assert len(audio_of(after)) <= 1
    assert TTSStoppedFrame not in kinds(before + after)


async def test_next_reply_is_spoken_in_full_after_a_barge_in() -> None:
    before, after = await speak_then_barge_in(
        PiperTTSService(), TTSSpeakFrame(LONG_REPLY), [TTSSpeakFrame(QUESTION)]
    )

    (interrupted,) = {f.context_id for f in audio_of(before)}
    started = next(f for f in after if isinstance(f, TTSStartedFrame))
    reply = after[after.index(started) :]
    assert started.context_id != interrupted
    assert {f.context_id for f in audio_of(reply)} == {started.context_id}
    assert 1.0 < pcm_seconds(b"".join(f.audio for f in audio_of(reply)), 24000) < 4.0
    assert kinds(reply)[-1] is TTSStoppedFrame


async def test_round_trip_through_whisper_recovers_the_words() -> None:
    frames = await speak_frames([TTSSpeakFrame(QUESTION)])
    pcm_24k = b"".join(f.audio for f in audio_of(frames))
    pcm_16k = resample(pcm_24k, 24000, 16000)

    (transcript,) = await transcribe(speech_segment(pcm_16k, 16000))

    assert "capital" in transcript.text.lower()
    assert "france" in transcript.text.lower()


def test_voice_is_loaded_once_and_shared() -> None:
    assert load_voice(*default_voice_paths()) is load_voice(*default_voice_paths())


def test_the_voice_threads_sleep_between_operators() -> None:
    # Spinning ones take the core the local model is writing the rest of the answer on.
    voice = load_voice(*default_voice_paths())

    for session in (voice.session, voice.decoder):
        options = session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


async def test_a_long_sentence_is_heard_before_it_is_all_synthesized() -> None:
    sentence = "Water boils at one hundred degrees at sea level, and a little lower on a mountain."
    frames = await speak_frames([TTSSpeakFrame(sentence)])

    audio = audio_of(frames)
    seconds = [pcm_seconds(f.audio, 24000) for f in audio]
    assert len(audio) >= 3
    assert seconds[0] < 0.4  # the first piece: 32 latent frames less the resampler's delay
    assert 3.0 < sum(seconds) < 8.0
    assert kinds(frames).count(TTSAudioRawFrame) == 1  # still one unbroken run
