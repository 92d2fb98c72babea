"""A JSON POST, and a GET's status, from a test or a benchmark, with the standard library."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def post_json(url: str, body: dict, headers: dict[str, str] | None = None) -> Any:
    """POST `body` as JSON to `url`; the JSON answer (an HTTP error raises `HTTPError`)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"} | (headers or {}),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def http_status(url: str, timeout: float = 5.0) -> int:
    """The HTTP status a GET of `url` answers with, an error status included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as e:
        e.close()  # it holds the response's socket
        return e.code
