"""The gate in front of the voice benchmark's tests: every module here needs the voice and
bench extras, so without them each is collected as one skip (a failure on CI)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import missing_dependency
from tests.voice.conftest import SPEECH_PACKAGES

NEEDED = (*SPEECH_PACKAGES, "soxr", "tqdm", "matplotlib")
_missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]


class ExtrasMissing(pytest.Module):
    """Stands for a test module whose imports need a missing package."""

    def collect(self) -> list[pytest.Item]:
        missing_dependency(f"bench.voice needs the voice and bench extras ({', '.join(_missing)})")
        return []


def pytest_pycollect_makemodule(
    module_path: Path, parent: pytest.Collector
) -> pytest.Module | None:
    """Collect each test module as one skip (a failure on CI) while an extra is missing."""
    if _missing and module_path.name.startswith("test_"):
        return ExtrasMissing.from_parent(parent, path=module_path)
    return None
