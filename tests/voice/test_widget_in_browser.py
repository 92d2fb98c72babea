"""The portal widget in headless Chromium against the real `python -m voice`: the official
Pipecat JS client over WebRTC and over the websocket, a fake microphone saying the test
question, the bundled local model answering.

One app for the module (WebRTC on loopback, `harness.loopback_voice`), allowing one other
origin: a plain page on `http://localhost:<site>` that embeds `widget.js` from the app.
`http://127.0.0.1:<site>` is the same files on an origin that is not allowed.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from harness.browser import chromium
from harness.voice_app import VoiceApp, start_voice_app
from harness.widget_page import WidgetPage
from tests.voice.conftest import require_chromium
from voice.portal import BUNDLE

require_chromium()

ANSWER_WITHIN = 90.0  # generous: two cores shared with the rest of the suite
# What the widget shows when it cannot reach the server (widget/src/call.js MESSAGES).
UNREACHABLE = "can't be reached"
MIC_DENIED = "Microphone access was denied"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, site: tuple[Path, int]) -> Iterator[VoiceApp]:
    _, port = site
    voice_app = start_voice_app(
        tmp_path_factory.mktemp("voice_app"),
        module="harness.loopback_voice",
        args=(f"--allowed-origins=http://localhost:{port}",),
    )
    yield voice_app
    assert voice_app.stop() == 0, voice_app.log()


def call_from(browser: Browser, url: str, **page_options: object) -> WidgetPage:
    """Open `url` in a new page and start a call from its widget, as a visitor does."""
    widget = WidgetPage(browser.new_page(**page_options))
    widget.open(url)
    widget.start_call()
    return widget


def live_sessions(app: VoiceApp) -> int:
    with urllib.request.urlopen(f"{app.http_url}/status", timeout=10) as response:
        return json.load(response)["sessions"]["live"]


def wait_for_no_sessions(app: VoiceApp, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while live_sessions(app):
        assert time.monotonic() < deadline, f"sessions still live after {within:g} s"
        time.sleep(0.1)


def embedding_page(folder: Path, name: str, script: str) -> str:
    """A plain page holding only the embed tag `script`; its file name."""
    (folder / name).write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{name}</title></head>"
        f"<body><h1>Somebody's portal</h1>{script}</body></html>"
    )
    return name


def answered(widget: WidgetPage) -> None:
    """The widget's whole answer to the test question: the question and "Paris" in the
    transcript, the bot speaking then listening again, its audio heard in the page."""
    widget.wait_for(
        lambda: (
            "paris" in " ".join(t for who, t in widget.lines() if who == "bot").lower()
            and widget.states()[-1] == "listening"
        ),
        within=ANSWER_WITHIN,
        what='answer with "Paris"',
    )
    states = widget.states()
    assert states[:2] == ["connecting", "listening"], states
    assert "speaking" in states and states.index("speaking") < len(states) - 1, states
    user = " ".join(t for who, t in widget.lines() if who == "user").lower()
    assert "capital" in user and "france" in user, widget.lines()
    assert [e for e in widget.events() if e.name == "first-audio"], "no bot audio in the page"
    assert widget.error_line() == ""
    assert widget.errors == []


@pytest.mark.parametrize("transport", ["webrtc", "websocket"])
def test_a_spoken_question_is_answered_in_the_widget(
    app: VoiceApp, question_wav: Path, transport: str
):
    with chromium(question_wav) as browser:
        widget = call_from(browser, f"{app.http_url}/?transport={transport}")
        answered(widget)
        widget.end_call()

    wait_for_no_sessions(app)


def test_a_page_on_an_allowed_origin_embeds_the_widget_with_one_tag(
    app: VoiceApp, question_wav: Path, site: tuple[Path, int]
):
    folder, port = site
    tag = f'<script src="{app.http_url}/widget.js" data-transport="webrtc" async></script>'
    page = embedding_page(folder, "embed.html", tag)

    with chromium(question_wav) as browser:
        widget = call_from(browser, f"http://localhost:{port}/{page}")
        answered(widget)
        widget.end_call()

    wait_for_no_sessions(app)


def test_a_page_on_an_origin_not_allowed_gets_the_error_line_and_no_session(
    app: VoiceApp, question_wav: Path, site: tuple[Path, int]
):
    folder, port = site
    tag = f'<script src="{app.http_url}/widget.js" data-transport="webrtc" async></script>'
    page = embedding_page(folder, "elsewhere.html", tag)

    with chromium(question_wav) as browser:
        # The same files as localhost's, but 127.0.0.1 is another origin, not allowed.
        widget = call_from(browser, f"http://127.0.0.1:{port}/{page}")
        widget.wait_for(lambda: widget.error_line(), within=20, what="error line")

        assert UNREACHABLE in widget.error_line()
        assert widget.states()[-1] == "ended"
        assert widget.errors == []
    assert live_sessions(app) == 0


def test_with_the_server_down_the_error_line_shows_on_a_phone_sized_screen(
    question_wav: Path, site: tuple[Path, int]
):
    folder, port = site
    (folder / "widget.js").write_bytes(BUNDLE.read_bytes())
    tag = '<script src="widget.js" data-server="http://127.0.0.1:9" async></script>'
    page = embedding_page(folder, "down.html", tag)

    with chromium(question_wav) as browser:
        phone = {"viewport": {"width": 375, "height": 667}}
        widget = call_from(browser, f"http://localhost:{port}/{page}", **phone)
        widget.wait_for(lambda: widget.error_line(), within=20, what="error line")
        panel = widget.page.locator("voice-assistant >> .panel").bounding_box()

        assert UNREACHABLE in widget.error_line()
        assert widget.errors == []
        assert widget.page.locator("voice-assistant >> .call").inner_text() == "Start call"
    assert panel is not None
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 375
    assert panel["y"] >= 0 and panel["y"] + panel["height"] <= 667


def test_a_denied_microphone_says_so_and_starts_nothing_from_the_keyboard(
    app: VoiceApp, site: tuple[Path, int]
):
    folder, port = site
    tag = f'<script src="{app.http_url}/widget.js" data-transport="websocket" async></script>'
    page = embedding_page(folder, "mic.html", tag)

    with chromium(None) as browser:  # a microphone, but nobody allows it
        widget = WidgetPage(browser.new_page())
        widget.open(f"http://localhost:{port}/{page}")
        keyboard = widget.page.keyboard
        keyboard.press("Tab")  # the launcher is the page's only focusable control
        assert (
            widget.page.evaluate(
                "document.activeElement.shadowRoot.activeElement.getAttribute('aria-label')"
            )
            == "Open the voice assistant"
        )
        keyboard.press("Enter")  # opens the panel; focus moves to Start call
        keyboard.press("Enter")
        widget.wait_for(lambda: widget.error_line(), within=20, what="error line")

        assert MIC_DENIED in widget.error_line()
        assert widget.errors == []
    assert live_sessions(app) == 0


def test_an_app_stopped_mid_call_closes_the_webrtc_peer_and_exits(
    tmp_path: Path, question_wav: Path
):
    """SIGTERM with a browser on a live WebRTC call: the app closes the peer, the widget says
    the call was dropped, and the app exits 0 (it once waited out the peer's timeouts)."""
    own_app = start_voice_app(tmp_path, module="harness.loopback_voice")
    try:
        with chromium(question_wav) as browser:
            widget = call_from(browser, f"{own_app.http_url}/?transport=webrtc")
            widget.wait_for(lambda: "listening" in widget.states(), 30, "connected call")

            assert own_app.stop(within=20) == 0, own_app.log()
            widget.wait_for(lambda: widget.error_line(), within=20, what="error line")
            assert "disconnected" in widget.error_line()
            assert widget.errors == []
    finally:
        own_app.stop()
