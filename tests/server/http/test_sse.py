import json

from server.http import sse


def test_one_event_per_payload_on_one_line():
    data = sse.encode({"text": "line one\nline two — ü"})
    assert data.startswith(b"data: ") and data.endswith(b"\n\n")
    assert data.count(b"\n") == 2  # the payload's newline is escaped inside the JSON
    assert json.loads(data[6:]) == {"text": "line one\nline two — ü"}
    assert "ü".encode() in data  # not \u-escaped


def test_done_and_headers():
    assert sse.DONE == b"data: [DONE]\n\n"
    assert sse.HEADERS["Content-Type"].startswith("text/event-stream")
    assert sse.HEADERS["X-Accel-Buffering"] == "no"
