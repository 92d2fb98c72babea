"""Headless Chromium (Debian's `chromium`) driven by Playwright, with a fake microphone.

Never `playwright install`: Playwright launches `/usr/bin/chromium` by `executable_path`.
The fake microphone speaks a WAV file once (`%noloop`) from when the page opens it; WebRTC
on loopback needs `--allow-loopback-in-peer-connection` (without it Chromium gathers no
candidates there). The background-networking flags stop Chromium dialling Google, which
this machine's closed network refuses.
"""

from __future__ import annotations

import os
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
BASE_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
)


def microphone_flags(wav: Path | None) -> list[str]:
    """Flags for a fake microphone that says `wav` once, allowed without a prompt; with
    `wav` None, a fake microphone the page is refused (headless, nobody answers the prompt)."""
    if wav is None:
        return ["--use-fake-device-for-media-stream"]
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
    ]


@contextmanager
def chromium(wav: Path | None) -> Iterator[Browser]:
    """Headless Chromium whose microphone says `wav` (see `microphone_flags`)."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*BASE_FLAGS, *microphone_flags(wav)],
        )
        try:
            yield browser
        finally:
            browser.close()


FAKE_MIC_RATE = 48000


def question_wav(folder: Path) -> Path:
    """The test question (`harness.speech.QUESTION`) with 2 s of silence either side, as a
    fake microphone's file in `folder`."""
    from harness.speech import QUESTION, speak

    pcm = speak(QUESTION, FAKE_MIC_RATE)
    return write_wav(folder / "question.wav", pcm, FAKE_MIC_RATE, pad_secs=2.0)


def write_wav(path: Path, pcm: bytes, sample_rate: int, pad_secs: float = 1.0) -> Path:
    """16-bit mono `pcm` at `sample_rate` as a WAV file, with `pad_secs` of silence before and
    after (so a VAD sees the speech start and end)."""
    silence = b"\x00\x00" * int(sample_rate * pad_secs)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(silence + pcm + silence)
    return path
