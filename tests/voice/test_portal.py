"""The widget's files: the demo page, the bundle, and the bundle built from its sources."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from voice.app import create_app
from voice.llm_server import LlmEndpoint
from voice.portal import BUNDLE
from voice.settings import Settings

ROOT = Path(__file__).parents[2]
WIDGET = ROOT / "widget"
ENDPOINT = LlmEndpoint(base_url="http://127.0.0.1:9/v1", api_key="k")


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings(), ENDPOINT))


def test_the_page_embeds_the_widget(client: TestClient):
    page = client.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'tag.src = "/widget.js"' in page.text


def test_the_widget_is_the_shipped_bundle(client: TestClient):
    widget = client.get("/widget.js")

    assert widget.status_code == 200
    assert widget.headers["content-type"].startswith("text/javascript")
    assert widget.content == BUNDLE.read_bytes()
    assert "max-age" in widget.headers["cache-control"]
    assert widget.headers["etag"]


def test_the_shipped_bundle_is_built_from_the_current_sources(tmp_path: Path):
    """`voice/static/widget.js` is what `scripts/build-widget` makes of `widget/` now; when
    this fails, run `scripts/build-widget` and commit the bundle."""
    if shutil.which("npm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("npm is missing; CI=true: the bundle must be checked")
        pytest.skip("npm is missing")
    rebuilt = tmp_path / "widget.js"

    subprocess.run([ROOT / "scripts" / "build-widget", rebuilt], check=True, timeout=300)

    assert rebuilt.read_bytes() == BUNDLE.read_bytes(), (
        "voice/static/widget.js is older than widget/src: run scripts/build-widget"
    )
