"""Each session's services, as the settings choose them."""

from __future__ import annotations

from pipecat.services.cartesia.tts import CartesiaTTSService

from voice.llm_server import LlmEndpoint
from voice.prompt import SYSTEM_PROMPT
from voice.service_factory import create_llm, create_stt, create_tts
from voice.services.piper_tts import PiperTTSService
from voice.services.whisper_stt import WhisperSTTService
from voice.settings import Settings


def test_local_speech_services_by_default():
    assert isinstance(create_stt(Settings()), WhisperSTTService)
    assert isinstance(create_tts(Settings()), PiperTTSService)


def test_hosted_tts_when_selected():
    settings = Settings(tts="cartesia", cartesia_api_key="k", cartesia_voice="v")

    assert isinstance(create_tts(settings), CartesiaTTSService)


def test_llm_streams_from_the_endpoint_with_the_spoken_prompt():
    endpoint = LlmEndpoint(base_url="http://127.0.0.1:9/v1", api_key="secret")

    llm = create_llm(Settings(llm_model="local"), endpoint)

    assert str(llm._client.base_url) == "http://127.0.0.1:9/v1/"
    assert llm._client.api_key == "secret"
    assert llm._settings.model == "local"
    assert llm._settings.system_instruction == SYSTEM_PROMPT


def test_an_endpoint_without_a_key_never_gets_openais():
    llm = create_llm(Settings(), LlmEndpoint(base_url="http://127.0.0.1:9/v1", api_key=None))

    assert llm._client.api_key == "none"


def test_the_llm_is_told_what_the_portal_said_about_the_caller():
    endpoint = LlmEndpoint(base_url="http://127.0.0.1:9/v1", api_key="secret")

    llm = create_llm(Settings(), endpoint, caller={"visitor": "Ann Lee", "plan": "gold"})

    instruction = llm._settings.system_instruction
    assert instruction.startswith(SYSTEM_PROMPT)
    assert instruction.endswith('{"visitor": "Ann Lee", "plan": "gold"}')
