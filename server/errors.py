"""Every error the server turns into an HTTP status or an SSE error event.

ServerError                 message, HTTP status, OpenAI error type and code
├── BadRequest              400  malformed body, wrong types, unknown model
├── Unauthorized            401  missing or wrong bearer token
├── NotFound                404  no such stored response
├── Busy                    429  no CLI slot came free in time
├── StoreUnavailable        503  the responses store cannot be opened
└── CliFailure              502  the CLI failed to give an answer
    ├── CliUnavailable      503  the CLI could not be started at all
    └── CliTimeout          504  no text before the first-token deadline, or a stall after it
"""

from __future__ import annotations


class ServerError(Exception):
    """An error with an HTTP status and OpenAI's error type and code."""

    status = 500
    type = "server_error"
    code: str | None = None

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def envelope(self) -> dict:
        """OpenAI's error envelope: `{"error": {"message", "type", "code", "param"}}`."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "code": self.code,
                "param": self.param,
            }
        }


class BadRequest(ServerError):
    """The request body is malformed or asks for something unsupported."""

    status = 400
    type = "invalid_request_error"


class Unauthorized(ServerError):
    """The bearer token is missing or wrong."""

    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class NotFound(ServerError):
    """The id names nothing stored."""

    status = 404
    type = "invalid_request_error"
    code = "not_found"


class Busy(ServerError):
    """Every CLI slot stayed taken for the whole queue timeout."""

    status = 429
    type = "rate_limit_error"
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(ServerError):
    """The responses store (`--db`) cannot be opened."""

    status = 503
    code = "store_unavailable"


class CliFailure(ServerError):
    """The CLI exited, crashed or reported an error instead of an answer."""

    status = 502
    type = "upstream_error"
    code = "cli_error"


class CliUnavailable(CliFailure):
    """The CLI executable could not be started."""

    status = 503
    code = "cli_unavailable"


class CliTimeout(CliFailure):
    """The CLI gave no text before the first-token deadline (or stalled after; code says which)."""

    status = 504
    code = "first_token_timeout"
