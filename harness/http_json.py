"""A JSON POST from a test or a benchmark, with the standard library."""

from __future__ import annotations

import json
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
