"""Speech made by the bundled Piper voice, and ways to hear it with Whisper: the model itself
(`hear`) or the app's STT service in a test pipeline (`transcribe`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr
from faster_whisper import WhisperModel
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    TranscriptionFrame,
    UserAudioRawFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import run_test
from piper import SynthesisConfig

from voice.services.piper_tts import default_voice_paths, load_voice
from voice.services.whisper_stt import (
    WHISPER_SAMPLE_RATE,
    WhisperSTTService,
    default_model_path,
    load_model,
)

QUESTION = "What is the capital of France?"

# Generous: the first start in a process loads a model. Never asserted as a speed.
START_TIMEOUT = 30.0


# Piper draws random noise for each synthesis unless told not to; the same words then sound
# the same in every run, so a test's speech (and Whisper's hearing of it) cannot vary.
SAME_EVERY_TIME = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)


def speak(text: str, sample_rate: int) -> bytes:
    """``text`` spoken by the bundled voice, the same samples every time, as 16-bit mono PCM
    at ``sample_rate``."""
    voice = load_voice(*default_voice_paths())
    chunks = voice.synthesize(text, syn_config=SAME_EVERY_TIME)
    pcm = b"".join(chunk.audio_int16_bytes for chunk in chunks)
    return resample(pcm, voice.config.sample_rate, sample_rate)


def resample(pcm: bytes, in_rate: int, out_rate: int) -> bytes:
    """16-bit mono PCM at ``in_rate`` converted to ``out_rate``."""
    samples = soxr.resample(np.frombuffer(pcm, dtype=np.int16), in_rate, out_rate)
    return np.asarray(samples, dtype=np.int16).tobytes()


def pcm_seconds(pcm: bytes, sample_rate: int) -> float:
    """Duration of 16-bit mono PCM."""
    return len(pcm) / 2 / sample_rate


def rms(pcm: bytes) -> float:
    """Root mean square of 16-bit PCM, on the int16 scale (silence is 0)."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


@dataclass(frozen=True)
class Heard:
    """Whisper's transcript of some speech and its confidence."""

    text: str
    logprob: float | None  # segments' average log probability, weighted by their length


def hear(pcm: bytes, sample_rate: int, model: WhisperModel | None = None) -> Heard:
    """Transcribe 16-bit mono PCM at `sample_rate` with `model` (default: the app's Whisper),
    with the app's STT service's options."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    if sample_rate != WHISPER_SAMPLE_RATE:
        samples = soxr.resample(samples, sample_rate, WHISPER_SAMPLE_RATE)
    segments, _ = (model or load_model(default_model_path())).transcribe(
        samples, language="en", beam_size=1, condition_on_previous_text=False
    )
    segments = list(segments)
    text = " ".join(s.text.strip() for s in segments).strip()
    if not segments:
        return Heard(text, None)
    weights = [max(s.end - s.start, 0.01) for s in segments]
    logprob = sum(s.avg_logprob * w for s, w in zip(segments, weights, strict=True))
    return Heard(text, logprob / sum(weights))


def speech_segment(pcm: bytes, sample_rate: int, user_id: str = "") -> list[Frame]:
    """``pcm`` as a transport sends it, in 20 ms frames between the VAD's start and stop."""
    step = sample_rate // 50 * 2
    audio: list[Frame] = [
        UserAudioRawFrame(pcm[i : i + step], sample_rate, 1, user_id=user_id)
        if user_id
        else InputAudioRawFrame(pcm[i : i + step], sample_rate, 1)
        for i in range(0, len(pcm), step)
    ]
    return [VADUserStartedSpeakingFrame(), *audio, VADUserStoppedSpeakingFrame(stop_secs=0.2)]


async def transcribe(
    frames: list[Frame], sample_rate: int = 16000, stt: WhisperSTTService | None = None
) -> list[TranscriptionFrame]:
    """Run ``frames`` through ``stt`` (a default one if None); return its transcripts."""
    down, _ = await run_test(
        stt or WhisperSTTService(),
        frames_to_send=frames,
        pipeline_params=PipelineParams(audio_in_sample_rate=sample_rate),
        start_timeout=START_TIMEOUT,
    )
    return [f for f in down if isinstance(f, TranscriptionFrame)]
