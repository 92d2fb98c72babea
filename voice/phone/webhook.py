"""What `POST /` answers a call with: the provider's XML connecting the call to `/ws`.

Twilio (TwiML) and Telnyx (TeXML, Twilio's dialect) get `<Connect><Stream>`, which makes the
stream bidirectional; `<Start><Stream>` would only fork the caller's audio, and the caller
would hear nothing. Telnyx also needs `bidirectionalMode="rtp"` to take audio back. Twilio
puts the `<Parameter>`s into the stream's `start` message as `customParameters`. Plivo gets
its own `<Stream bidirectional="true">URL</Stream>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from server.settings import is_loopback

STREAM_PATH = "/ws"
PROVIDERS = ("twilio", "telnyx", "plivo")
# The webhook's form fields passed on to the call as stream parameters.
CALL_PARAMETERS = ("From", "To", "CallSid")


def provider_of(form: Mapping[str, str], default: str) -> str:
    """Which provider sent this webhook `form`: Plivo names the call `CallUUID`; Telnyx's
    `CallSid` starts `v3:` and it sends a `ConnectionId`; Twilio's starts `CA`. Else `default`."""
    call_sid = form.get("CallSid", "")
    if "CallUUID" in form:
        return "plivo"
    if call_sid.startswith("v3:") or "ConnectionId" in form:
        return "telnyx"
    if call_sid.startswith("CA"):
        return "twilio"
    return default


def stream_url(
    public_url: str | None, headers: Mapping[str, str], request_scheme: str, token: str = ""
) -> str:
    """The `wss://HOST/ws` (or `/ws/<token>`) a call's media stream opens.

    HOST is `public_url` when set; else the proxy's `X-Forwarded-Host`, else `Host`. The
    scheme is `wss` unless `public_url` says http or ws, `X-Forwarded-Proto` says http, or,
    with no proxy headers at all, a plain http request came to a loopback host (a local test).
    """
    secure, base = public_base(public_url, headers, request_scheme)
    path = f"{STREAM_PATH}/{token}" if token else STREAM_PATH
    return f"{'wss' if secure else 'ws'}://{base}{path}"


def webhook_url(
    public_url: str | None, headers: Mapping[str, str], request_scheme: str, path: str
) -> str:
    """The URL the provider requested to reach `path` here, as Twilio signs it (host as
    `stream_url`)."""
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


def call_answer(provider: str, url: str, parameters: Mapping[str, str]) -> str:
    """`provider`'s XML connecting the call to the media stream at `url`. Twilio gets
    `parameters` as `<Parameter>`s; Telnyx and Plivo put who called in their `start` anyway."""
    if provider == "plivo":
        attributes = 'bidirectional="true" keepCallAlive="true"'
        stream = [
            f'  <Stream {attributes} contentType="audio/x-mulaw;rate=8000">{escape(url)}</Stream>'
        ]
    else:
        mode = ' bidirectionalMode="rtp"' if provider == "telnyx" else ""
        lines = [
            f"      <Parameter name={quoteattr(k)} value={quoteattr(v)}/>"
            for k, v in parameters.items()
            if provider == "twilio"
        ]
        stream = ["  <Connect>", f"    <Stream url={quoteattr(url)}{mode}>"]
        stream += [*lines, "    </Stream>", "  </Connect>"]
    return "\n".join(
        ['<?xml version="1.0" encoding="UTF-8"?>', "<Response>", *stream, "</Response>"]
    )


def _first(value: str | None) -> str:
    """The first of a comma-separated header's values (the client-most proxy's)."""
    return (value or "").split(",")[0].strip()


def _hostname(host: str) -> str:
    return urlsplit(f"//{host}").hostname or ""
