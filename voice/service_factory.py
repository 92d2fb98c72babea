"""The speech and language services each session runs, chosen by the settings.

Local services are the default and need no network. Hosted ones (Deepgram STT, Cartesia
TTS) are imported only when selected, so their pipecat-ai extras stay optional; the settings
loader has already refused to select one without its key. The LLM is any OpenAI-compatible
endpoint: the bundled completions server, a running one, or a hosted API via `--llm-url`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pipecat.services.llm_service import LLMService
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService

from voice.llm_server import LlmEndpoint
from voice.prompt import system_prompt
from voice.settings import Settings
from voice.turn_taking import pause_vad


def create_stt(settings: Settings) -> STTService:
    """Speech to text for one session."""
    if settings.stt == "deepgram":
        from pipecat.services.deepgram.stt import DeepgramSTTService

        return DeepgramSTTService(api_key=settings.deepgram_api_key or "")
    from voice.services.whisper_stt import WhisperSTTService

    heard = WhisperSTTService.Settings(window_secs=settings.stt_window, beam_size=settings.stt_beam)
    return WhisperSTTService(settings=heard, pause_vad=pause_vad(settings))


def create_tts(settings: Settings) -> TTSService:
    """Text to speech for one session, at the transport's output rate."""
    if settings.tts == "cartesia":
        from pipecat.services.cartesia.tts import CartesiaTTSService

        return CartesiaTTSService(
            api_key=settings.cartesia_api_key or "",
            settings=CartesiaTTSService.Settings(voice=settings.cartesia_voice),
        )
    from voice.services.piper_tts import PiperTTSService

    return PiperTTSService(first_clause=settings.first_clause)


def create_llm(
    settings: Settings, endpoint: LlmEndpoint, caller: Mapping[str, Any] | None = None
) -> LLMService:
    """The LLM for one session, streaming from `endpoint`, told what the portal said about
    the `caller`."""
    return OpenAILLMService(
        api_key=endpoint.api_key or "none",  # never fall back to OPENAI_API_KEY
        base_url=endpoint.base_url,
        settings=OpenAILLMService.Settings(
            model=settings.llm_model,
            system_instruction=system_prompt(caller),
            extra=_reasoning(settings.llm_reasoning_effort),
        ),
    )


def _reasoning(effort: str) -> dict[str, str]:
    return {} if effort == "default" else {"reasoning_effort": effort}


async def preload_models(settings: Settings) -> None:
    """Load the local models every session shares, so the first caller does not wait."""
    if settings.stt == "whisper":
        from voice.services.whisper_stt import default_model_path, load_decoder, load_model

        await asyncio.to_thread(load_model, default_model_path())
        await asyncio.to_thread(load_decoder, default_model_path())
    if settings.tts == "piper":
        from voice.services.piper_tts import default_voice_paths, load_voice

        await asyncio.to_thread(load_voice, *default_voice_paths())
