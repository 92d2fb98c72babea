"""The call records over HTTP: `GET /api/calls`, `GET` and `DELETE /api/calls/{id}`, and the
page that browses them, `GET /calls`.

With `--admin-token` set every one of them but the page itself needs it as
`Authorization: Bearer` (401 otherwise); the page asks for it. The list is newest first,
`limit` (1-100, default 20) at a time from `offset`, filtered by `transport` and by the
start time (`since` inclusive, `until` exclusive: unix seconds or ISO 8601).
"""

from __future__ import annotations

import hmac
import math
import re
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from voice.access import bearer
from voice.calls.store import CallStore
from voice.http_errors import json_error
from voice.portal import STATIC

PAGE = STATIC / "calls.html"
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
_CALL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BadQuery(ValueError):
    """A query parameter this API cannot take; the message says why."""


def add_call_routes(app: FastAPI, store: CallStore, admin_token: str | None) -> None:
    """Add the call records' API and page to `app`."""

    def refused(request: Request) -> JSONResponse | None:
        if admin_token is None:
            return None
        given = (bearer(request.headers.get("authorization")) or "").encode()
        if hmac.compare_digest(given, admin_token.encode()):
            return None
        return json_error(
            401,
            "the call records need the admin token as Authorization: Bearer",
            {"WWW-Authenticate": "Bearer"},
        )

    def refused_for(request: Request, call_id: str) -> JSONResponse | None:
        if refusal := refused(request):
            return refusal
        if not _CALL_ID.fullmatch(call_id):
            return json_error(400, "a call id is 1-64 letters, digits, '-' or '_'")
        return None

    @app.get("/api/calls")
    async def list_calls(request: Request) -> JSONResponse:
        """Calls, newest first, with their number of turns; paged and filtered."""
        if refusal := refused(request):
            return refusal
        try:
            query = parse_list_query(dict(request.query_params))
        except BadQuery as e:
            return json_error(400, str(e))
        calls = await store.list_calls(**query)
        following = None
        if len(calls) == query["limit"]:
            next_query = {k: v for k, v in request.query_params.items() if k != "offset"}
            next_query["offset"] = str(query["offset"] + query["limit"])
            following = f"/api/calls?{urlencode(next_query)}"
        return JSONResponse({"calls": [c.as_json() for c in calls], "next": following})

    @app.get("/api/calls/{call_id}")
    async def get_call(request: Request, call_id: str) -> JSONResponse:
        """One call with its turns: both sides' words and each turn's latency."""
        if refusal := refused_for(request, call_id):
            return refusal
        call = await store.get_call(call_id)
        if call is None:
            return json_error(404, f"no call {call_id}")
        return JSONResponse(call.as_json(with_turns=True))

    @app.delete("/api/calls/{call_id}")
    async def delete_call(request: Request, call_id: str) -> Response:
        """Delete one call and its turns."""
        if refusal := refused_for(request, call_id):
            return refusal
        if not await store.delete_call(call_id):
            return json_error(404, f"no call {call_id}")
        return Response(status_code=204)

    @app.get("/calls", include_in_schema=False)
    async def page() -> FileResponse:
        """The call records, browsable: the list, and one call's transcript and latency."""
        return FileResponse(PAGE, media_type="text/html", headers={"Cache-Control": "no-cache"})


def parse_list_query(query: dict[str, str]) -> dict[str, object]:
    """`GET /api/calls`'s parameters as `CallStore.list_calls` takes them; raise `BadQuery`."""
    unknown = set(query) - {"limit", "offset", "transport", "since", "until"}
    if unknown:
        raise BadQuery(f"unknown parameter {sorted(unknown)[0]!r}")
    limit = _integer(query, "limit", DEFAULT_LIMIT)
    if not 1 <= limit <= MAX_LIMIT:
        raise BadQuery(f"'limit' must be 1 to {MAX_LIMIT}")
    offset = _integer(query, "offset", 0)
    if offset < 0:
        raise BadQuery("'offset' must be 0 or more")
    return {
        "limit": limit,
        "offset": offset,
        "transport": query.get("transport") or None,
        "since": _time(query, "since"),
        "until": _time(query, "until"),
    }


def _integer(query: dict[str, str], name: str, default: int) -> int:
    if name not in query:
        return default
    try:
        return int(query[name])
    except ValueError as e:
        raise BadQuery(f"'{name}' must be a whole number") from e


def _time(query: dict[str, str], name: str) -> float | None:
    text = query.get(name)
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as e:
            raise BadQuery(f"'{name}' must be unix seconds or an ISO 8601 time") from e
        seconds = moment.replace(tzinfo=moment.tzinfo or UTC).timestamp()
    if not math.isfinite(seconds):
        raise BadQuery(f"'{name}' must be unix seconds or an ISO 8601 time")
    return seconds
