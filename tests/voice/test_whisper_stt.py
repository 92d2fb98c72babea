"""WhisperSTTService in a Pipecat pipeline, fed speech that Piper synthesized."""

import asyncio
import threading

from pipecat.transcriptions.language import Language

from harness.speech import QUESTION, speak, speech_segment, transcribe
from voice.services.whisper_stt import WhisperSTTService, default_model_path, load_model


async def test_spoken_question_becomes_one_transcript(question_16k: bytes) -> None:
    (transcript,) = await transcribe(speech_segment(question_16k, 16000, user_id="caller-1"))

    assert "capital" in transcript.text.lower()
    assert "france" in transcript.text.lower()
    assert transcript.user_id == "caller-1"
    assert transcript.language == Language.EN
    assert transcript.timestamp
    assert transcript.finalized


async def test_silence_gives_no_transcript() -> None:
    silence = bytes(2 * 16000 * 2)

    assert await transcribe(speech_segment(silence, 16000)) == []


async def test_each_segment_is_transcribed_in_order(question_16k: bytes) -> None:
    # The word checked ends each segment: a segment's first syllable can be clipped by the VAD
    # ("Paris is the capital." came back once as "Harris is the capital.").
    answer = speak("The answer is in Italy.", 16000)
    frames = speech_segment(question_16k, 16000) + speech_segment(answer, 16000)

    first, second = await transcribe(frames)

    assert "france" in first.text.lower()
    assert "italy" in second.text.lower()


async def test_telephone_rate_input_is_resampled_for_whisper() -> None:
    question_8k = speak(QUESTION, 8000)

    (transcript,) = await transcribe(speech_segment(question_8k, 8000), sample_rate=8000)

    assert "capital" in transcript.text.lower()


async def test_settings_reach_the_model(question_16k: bytes) -> None:
    stt = WhisperSTTService(settings=WhisperSTTService.Settings(beam_size=5, language="en-US"))

    (transcript,) = await transcribe(speech_segment(question_16k, 16000), stt=stt)

    assert "france" in transcript.text.lower()
    assert transcript.language == Language.EN


async def test_concurrent_sessions_each_get_their_transcript(question_16k: bytes) -> None:
    sessions = [transcribe(speech_segment(question_16k, 16000)) for _ in range(3)]

    results = await asyncio.gather(*sessions)

    assert all(len(r) == 1 and "france" in r[0].text.lower() for r in results)


def test_model_is_loaded_once_and_shared_across_threads() -> None:
    models = []
    threads = [
        threading.Thread(target=lambda: models.append(load_model(default_model_path())))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(models) == 4
    assert all(model is models[0] for model in models)
