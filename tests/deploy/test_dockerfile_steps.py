"""The Dockerfile's install steps, run for real: no container registry is reachable here (so no
base image, and no `buildah bud`), so its runtime stage's `COPY`s and `pip install`s are
replayed into a fresh venv, non-editable as in the image, and the installed apps must start."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from server.local_cli.requantized import CACHE_ENV
from tests.conftest import ROOT

MAKE_COPY = "server.local_cli.requantized"


def runtime_stage() -> list[str]:
    """The runtime stage's instructions, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    stage = text.split("AS runtime", 1)[1]
    joined = re.sub(r"\\\n\s*", " ", stage)
    return [line for line in joined.splitlines() if line.strip() and not line.startswith("#")]


def test_the_runtime_stage_installs_and_runs_from_a_fresh_venv(tmp_path: Path):
    context, venv = tmp_path / "app", tmp_path / "venv"
    context.mkdir()
    steps = runtime_stage()
    for step in steps:
        if step.startswith("COPY ") and "--from=" not in step:
            *sources, _ = step.split()[1:]
            for source in sources:
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, context / source, ignore=_IGNORED)
                else:
                    shutil.copy2(ROOT / source, context / source)
    # The widget bundle comes from the node stage; the committed one is the same bytes
    # (tests/voice/test_portal.py rebuilds it).
    assert (context / "voice" / "static" / "widget.js").exists()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installs = [
        command.strip()
        for step in steps
        if step.startswith("RUN pip install")
        for command in step.removeprefix("RUN ").split("&&")
    ]
    assert len(installs) == 2, installs
    for command in installs:
        argv = shlex.split(command)
        assert argv[:2] == ["pip", "install"]
        done = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *argv[2:]],
            cwd=context,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]

    python = str(venv / "bin" / "python")
    # The image makes the local model's Q8_0 copy as it is built, in its user's cache.
    [make] = [step for step in steps if step.startswith("RUN python")]
    assert shlex.split(make.removeprefix("RUN ")) == ["python", "-m", MAKE_COPY]
    env = {k: v for k, v in os.environ.items() if k != CACHE_ENV}
    made = subprocess.run(
        [python, "-m", MAKE_COPY],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert made.returncode == 0, made.stderr[-2000:]
    copy = Path(made.stdout.strip())
    assert copy.parent == tmp_path / "cache" / "voice-agent" and copy.suffix == ".gguf"
    assert copy.stat().st_size > 100_000_000  # the Q8_0 weights, not the wheel's file
    for module in ("voice", "server"):
        started = subprocess.run(
            [python, "-m", module, "--help"], capture_output=True, text=True, cwd=tmp_path
        )
        assert started.returncode == 0, started.stderr[-2000:]
    where = subprocess.run(
        [python, "-c", "import voice, pathlib; print(pathlib.Path(voice.__file__).parent)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    installed = Path(where)
    assert "site-packages" in installed.parts  # the copy in the venv, not the source tree
    for shipped in ("widget.js", "calls.html"):
        assert (installed / "static" / shipped).exists(), shipped


_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "results")
