"""Why a session ended: said by whatever ends it, the first reason given kept. The call
record and the metrics both read it."""

from __future__ import annotations

HUNG_UP = "caller hung up"
IDLE = "idle"
TIME_LIMIT = "time limit"
ERROR = "error"
SHUTDOWN = "server shutdown"
DRAINED = "server drain"


class SessionEnd:
    """A session's end reason (and, for an error, its detail)."""

    def __init__(self) -> None:
        self._reason: str | None = None
        self.detail: str | None = None

    def because(self, reason: str, detail: str | None = None) -> None:
        """Say why the session is ending; only the first reason counts."""
        if self._reason is None:
            self._reason, self.detail = reason, detail

    def reason(self, *, shutting_down: bool = False) -> str:
        """The reason given, else the caller hung up (the server, when it was shutting down
        and closed the connection itself)."""
        if self._reason is None:
            return SHUTDOWN if shutting_down else HUNG_UP
        return self._reason
