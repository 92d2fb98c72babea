"""The portal widget against a voice agent with auth on, in headless Chromium: the page and its
backend are `examples/portal_backend.py` (a real process), which calls `POST /start` with the
operator key for the signed-in visitor; the widget connects through the official JS client's
`startBotAndConnect`. The fake CLI answers, and records the prompt it was given.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.browser import chromium
from harness.cli_records import cli_records, prompt
from harness.voice_app import VoiceApp, start_voice_app
from harness.widget_page import WidgetPage
from server.child_server import free_port
from server.parent_death import tied_to_parent
from tests.voice.conftest import require_chromium

require_chromium()

ROOT = Path(__file__).parents[2]
KEY = "operator-key-for-the-widget-test"
ANSWER_WITHIN = 60.0
NOT_ALLOWED = "not allowed to call the assistant"  # widget/src/call.js MESSAGES.notAllowed


@pytest.fixture(scope="module")
def portal_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory,
    fake_cli: Path,
    records: Path,
    portal_port: int,
    site: tuple[Path, int],
) -> Iterator[VoiceApp]:
    origins = f"http://127.0.0.1:{portal_port},http://127.0.0.1:{site[1]}"
    voice_app = start_voice_app(
        tmp_path_factory.mktemp("voice_app"),
        module="harness.loopback_voice",
        args=(f"--allowed-origins={origins}",),
        env={
            "VOICE_API_KEY": KEY,
            "VOICE_LLM_CLI": str(fake_cli),
            "FAKE_CLI_RECORD_DIR": str(records),
        },
    )
    yield voice_app
    assert voice_app.stop() == 0, voice_app.log()


@pytest.fixture(scope="module")
def portal(app: VoiceApp, portal_port: int, tmp_path_factory: pytest.TempPathFactory):
    """`examples/portal_backend.py` on `portal_port`; its URL."""
    log = tmp_path_factory.mktemp("portal") / "portal.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            tied_to_parent(
                [sys.executable, str(ROOT / "examples/portal_backend.py"), f"--port={portal_port}"]
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ | {"VOICE_URL": app.http_url, "VOICE_API_KEY": KEY},
        )
    deadline = time.monotonic() + 30
    while "Running on" not in log.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    yield f"http://127.0.0.1:{portal_port}"
    process.terminate()
    process.wait(10)


@pytest.mark.parametrize("transport", ["webrtc", "websocket"])
def test_the_portal_backend_starts_the_call_and_the_model_knows_the_visitor(
    app: VoiceApp, portal: str, records: Path, question_wav: Path, transport: str
):
    with chromium(question_wav) as browser:
        widget = WidgetPage(browser.new_page())
        widget.open(f"{portal}/?transport={transport}")
        widget.start_call()
        widget.wait_for(
            lambda: "paris" in " ".join(t for who, t in widget.lines() if who == "bot").lower(),
            within=ANSWER_WITHIN,
            what='answer with "Paris"',
        )
        assert widget.error_line() == "" and widget.errors == []
        widget.end_call()

    told = [p for p in map(prompt, cli_records(records)) if "capital" in p.rsplit("<user>")[-1]]
    assert told and all('"name": "Ann Lee"' in p.split("<user>")[0] for p in told), told


def test_a_page_without_a_start_url_is_told_it_is_not_allowed(
    app: VoiceApp, site: tuple[Path, int], question_wav: Path
):
    folder, port = site
    (folder / "plain.html").write_text(f"<script src='{app.http_url}/widget.js'></script>")
    sessions_before = app.log().count("starting session")

    with chromium(question_wav) as browser:
        widget = WidgetPage(browser.new_page())
        widget.open(f"http://127.0.0.1:{port}/plain.html")
        widget.start_call()
        widget.wait_for(lambda: NOT_ALLOWED in widget.error_line(), within=20, what="refusal")
        assert "ended" in widget.states()

    assert app.log().count("starting session") == sessions_before
