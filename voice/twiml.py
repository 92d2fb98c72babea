"""What `POST /` answers a Twilio call with: TwiML that connects the call to `/ws`.

`<Connect><Stream>` makes the stream bidirectional; `<Start><Stream>` would only fork the
caller's audio, and the caller would hear nothing. Twilio puts the `<Parameter>`s into the
stream's `start` message as `customParameters`.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from server.settings import is_loopback

STREAM_PATH = "/ws"
# The webhook's form fields passed on to the call as stream parameters.
CALL_PARAMETERS = ("From", "To", "CallSid")


def stream_url(public_url: str | None, headers: Mapping[str, str], request_scheme: str) -> str:
    """The `wss://HOST/ws` a call's media stream opens.

    HOST is `public_url` when set; else the proxy's `X-Forwarded-Host`, else `Host`. The
    scheme is `wss` unless `public_url` says http or ws, `X-Forwarded-Proto` says http, or,
    with no proxy headers at all, a plain http request came to a loopback host (a local test).
    """
    secure, base = public_base(public_url, headers, request_scheme)
    return f"{'wss' if secure else 'ws'}://{base}{STREAM_PATH}"


def webhook_url(
    public_url: str | None, headers: Mapping[str, str], request_scheme: str, path: str
) -> str:
    """The URL Twilio requested to reach `path` here, as it signs it (host as `stream_url`)."""
    secure, base = public_base(public_url, headers, request_scheme)
    return f"{'https' if secure else 'http'}://{base}{path}"


def public_base(
    public_url: str | None, headers: Mapping[str, str], request_scheme: str
) -> tuple[bool, str]:
    """Whether callers reach this app over TLS, and at which host (and path prefix)."""
    if public_url:
        parts = urlsplit(public_url if "//" in public_url else f"//{public_url}")
        return parts.scheme not in ("http", "ws"), f"{parts.netloc}{parts.path.rstrip('/')}"
    forwarded_host = _first(headers.get("x-forwarded-host"))
    forwarded_proto = _first(headers.get("x-forwarded-proto"))
    host = forwarded_host or headers.get("host", "")
    if forwarded_proto:
        return forwarded_proto.lower() != "http", host
    local = not forwarded_host and request_scheme == "http" and is_loopback(_hostname(host))
    return not local, host


def connect_stream(url: str, parameters: Mapping[str, str]) -> str:
    """TwiML connecting the call to the media stream at `url`, with `parameters` attached."""
    lines = [
        f"      <Parameter name={quoteattr(k)} value={quoteattr(v)}/>"
        for k, v in parameters.items()
    ]
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            "<Response>",
            "  <Connect>",
            f"    <Stream url={quoteattr(url)}>",
            *lines,
            "    </Stream>",
            "  </Connect>",
            "</Response>",
        ]
    )


def _first(value: str | None) -> str:
    """The first of a comma-separated header's values (the client-most proxy's)."""
    return (value or "").split(",")[0].strip()


def _hostname(host: str) -> str:
    return urlsplit(f"//{host}").hostname or ""
