"""`python -m bench.widget`: first bot audio in a real browser, through the portal widget.

    python -m bench.widget -n 5 [--transport webrtc,websocket] [--json widget.json]
        [--screenshot widget.png]

Each trial opens the app's demo page in headless Chromium (Debian's, with a fake microphone
saying the test question between 2 s of silence), clicks Start call and times, in the page,
the first bot audio the widget plays (its level meter's reading over -40 dBFS):
- after the click (connecting, the question, the answer);
- after the end of the question (the last microphone reading over -40 dBFS before it);
and the click to connected (the bot ready: offer and answer, or the websocket, and RTVI).
The app's own total for the same turn (caller silent -> bot audio out, from its `turn
latency` log line) is beside it. Transports alternate trial by trial on one app, and the
ratios compare them within the run. Not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.report import machine_info, write_json
from bench.stats import format_table, percentile, summarize
from bench.voice.server_log import server_turns
from harness.browser import chromium, question_wav
from harness.voice_app import VoiceApp, start_voice_app
from harness.widget_page import WidgetPage
from server.flags import positive_int

TRANSPORTS = ("webrtc", "websocket")
ANSWER_WITHIN = 90.0
METRICS = (
    ("click -> first audio", "afterClickMs"),
    ("click -> connected", "connectMs"),
    ("question end -> first audio", "afterSpeechMs"),
    ("server: total", "serverTotalMs"),
)
PACKAGES = ("voice-agent", "pipecat-ai", "playwright", "aiortc", "faster-whisper", "piper-tts")


def trial(app: VoiceApp, wav: Path, transport: str, screenshot: Path | None) -> dict:
    """One call from the demo page: the question, the answer's first audio; then hang up."""
    turns_before = len(server_turns(app.log()))
    with chromium(wav) as browser:
        widget = WidgetPage(browser.new_page(viewport={"width": 900, "height": 640}))
        widget.open(f"{app.http_url}/?transport={transport}")
        widget.start_call()
        widget.wait_for(
            lambda: [e for e in widget.events() if e.name == "first-audio"],
            within=ANSWER_WITHIN,
            what="first bot audio",
        )
        timing = next(e.detail for e in widget.events() if e.name == "first-audio")
        if screenshot:  # mid-answer: speaking, its words shown
            words = widget.page.locator("voice-assistant >> li.bot span span")
            widget.wait_for(
                lambda: widget.states()[-1] == "speaking" and words.count() > 0, 30, "words"
            )
            widget.page.wait_for_timeout(300)  # the meter's transition
            widget.page.screenshot(path=str(screenshot))
        widget.wait_for(lambda: widget.states()[-1] == "listening", ANSWER_WITHIN, "answer end")
        answer = " ".join(text for who, text in widget.lines() if who == "bot")
        at = {}
        for event in widget.events():
            if event.name == "state":
                at.setdefault(event.detail["state"], event.at)
        widget.end_call()
    deadline = time.monotonic() + 30
    while len(turns := server_turns(app.log())) <= turns_before and time.monotonic() < deadline:
        time.sleep(0.05)
    server = turns[turns_before]["total_ms"] if len(turns) > turns_before else None
    connect = round(at["listening"] - at["connecting"])
    return {
        "transport": transport,
        **timing,
        "connectMs": connect,
        "serverTotalMs": server,
        "answer": answer,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.widget",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-n", type=positive_int, default=5, help="calls per transport")
    parser.add_argument(
        "--transport",
        default=",".join(TRANSPORTS),
        help="comma-separated, of webrtc and websocket; the first is the ratios' base "
        "(default %(default)s)",
    )
    parser.add_argument("--json", type=Path, help="write every trial and the summary here")
    parser.add_argument(
        "--screenshot", type=Path, help="save the open widget mid-answer (first trial) here"
    )
    args = parser.parse_args(argv)
    transports = [t.strip() for t in args.transport.split(",") if t.strip()]
    if not transports or set(transports) - set(TRANSPORTS):
        parser.error(f"--transport takes {', '.join(TRANSPORTS)}")

    from loguru import logger

    logger.remove()  # Pipecat and the speech models log on import and load: not ours
    logger.add(sys.stderr, level="WARNING")
    workdir = Path(tempfile.mkdtemp(prefix="bench-widget-"))
    wav = question_wav(workdir)
    app = start_voice_app(workdir, module="harness.loopback_voice")
    trials: list[dict] = []
    try:
        for i in range(args.n):
            for transport in transports:
                shot = args.screenshot if not trials else None
                result = trial(app, wav, transport, shot)
                trials.append(result)
                print(
                    f"{i + 1}/{args.n} {transport}: click {result['afterClickMs']} ms, "
                    f"question end {result['afterSpeechMs']} ms, answer {result['answer']!r}",
                    flush=True,
                )
    finally:
        app.stop()

    summaries = []
    for label, key in METRICS:
        for transport in transports:
            values = [t[key] for t in trials if t["transport"] == transport and t[key] is not None]
            summaries.append(summarize(transport, label, values, ok=len(values), failed=0))
    print(format_table(summaries))
    lines = []
    base, *others = transports
    for other in others:
        for label, key in METRICS[:3]:
            a = [t[key] for t in trials if t["transport"] == base]
            b = [t[key] for t in trials if t["transport"] == other]
            lines.append(
                f"{label}: {other} / {base} = {percentile(b, 50) / percentile(a, 50):.2f}x at p50"
            )
    print("\n".join(lines))
    if args.json:
        record = {
            "trials": trials,
            "summaries": [s.to_dict() for s in summaries],
            "ratios": lines,
            "machine": machine_info(PACKAGES),
        }
        write_json(args.json, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
