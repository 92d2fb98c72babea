"""The voice app's HTTP error body: `{"error": {"message", "status"}}`, on every route."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.responses import JSONResponse


def json_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A `status` response saying `message`."""
    return JSONResponse(
        {"error": {"message": message, "status": status}}, status_code=status, headers=headers
    )
