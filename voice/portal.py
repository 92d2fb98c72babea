"""The portal widget's files: the demo page at `GET /` and the bundle at `GET /widget.js`.

`widget.js` is built from `widget/src` by esbuild (`scripts/build-widget`) and shipped in the
package (`voice/static/`), so a plain `pip install` serves a working widget. A portal embeds
it from another origin with a classic `<script>` tag, which needs no CORS.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse

STATIC = Path(__file__).parent / "static"
PAGE = STATIC / "index.html"
BUNDLE = STATIC / "widget.js"
# Short enough that a new release reaches portals within minutes; revalidated by ETag.
_BUNDLE_CACHE = "public, max-age=300"


def add_portal_routes(app: FastAPI) -> None:
    """Add `GET /` (the demo portal page) and `GET /widget.js` (the embeddable widget)."""

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        """A demo portal page with the widget embedded."""
        return FileResponse(PAGE, media_type="text/html", headers={"Cache-Control": "no-cache"})

    @app.get("/widget.js", include_in_schema=False)
    async def widget() -> FileResponse:
        """The widget: one script, the official Pipecat client and both transports inside."""
        return FileResponse(
            BUNDLE, media_type="text/javascript", headers={"Cache-Control": _BUNDLE_CACHE}
        )
