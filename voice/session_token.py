"""Signed, self-expiring, one-time session tokens, in the form Pipecat's runner uses.

A token is `<base64url payload>.<hmac-sha256 hex>`. The payload is JSON: `exp` (unix
seconds), `jti` (a random id), `use` (the channel it opens: "websocket", "webrtc" or
"phone") and, when `POST /start` was given one, `body` (what the portal says about the
caller). The runner's own check reads only `exp`, so its tokens and ours verify the same way
given the same secret. A token opens one session: its `jti` is remembered until it expires,
by this process (instances sharing a secret accept each other's tokens, but each keeps its
own list of those used).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Longer than any token `mint` makes (a 2 KiB body is about 3 KiB of token); anything longer
# is refused before it is decoded.
MAX_TOKEN_CHARS = 4096


class TokenRefused(Exception):
    """A token that does not open this session; the message says why (never the token)."""


@dataclass(frozen=True)
class Grant:
    """What a valid token carries: its id, channel, expiry and the portal's `body`."""

    jti: str
    use: str
    expires: float
    body: dict[str, Any] = field(default_factory=dict)


class SessionTokens:
    """Mints tokens and redeems each one once."""

    def __init__(self, secret: bytes, ttl: float, clock: Callable[[], float] = time.time):
        self._secret = secret
        self._ttl = ttl
        self._clock = clock
        self._redeemed: dict[str, float] = {}  # jti -> exp, kept until it expires

    def mint(self, use: str, body: dict[str, Any] | None = None) -> str:
        """A new token for `use`, valid for the configured ttl, carrying `body` if given."""
        claims: dict[str, Any] = {
            "exp": int(self._clock() + self._ttl),
            "jti": secrets.token_hex(8),
            "use": use,
        }
        if body:
            claims["body"] = body
        raw = json.dumps(claims, separators=(",", ":")).encode()
        payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return f"{payload}.{self._sign(payload)}"

    def redeem(self, token: str, use: str) -> Grant:
        """Accept `token` for `use` once and return what it grants; raise `TokenRefused`
        (forged, malformed, expired, for another channel, or already used)."""
        grant = self.verify(token, use)
        now = self._clock()
        if now > grant.expires:
            raise TokenRefused("expired")
        self._redeemed = {j: exp for j, exp in self._redeemed.items() if exp >= now}
        if grant.jti in self._redeemed:
            raise TokenRefused("already used")
        self._redeemed[grant.jti] = grant.expires
        return grant

    def release(self, grant: Grant) -> None:
        """Let a redeemed token be used again: the session it was redeemed for never started
        (an offer that could not be answered)."""
        self._redeemed.pop(grant.jti, None)

    def verify(self, token: str, use: str) -> Grant:
        """What `token` grants if this deployment signed it for `use`, expired or used or
        not (for requests within a session it already opened); else raise `TokenRefused`."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRefused(f"over {MAX_TOKEN_CHARS} characters")
        payload, _, signature = token.rpartition(".")
        if not payload or not hmac.compare_digest(self._sign(payload), signature):
            raise TokenRefused("not signed by this deployment")
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            grant = Grant(
                jti=str(claims["jti"]),
                use=str(claims.get("use", use)),
                expires=float(claims["exp"]),
                body=dict(claims.get("body") or {}),
            )
        except (binascii.Error, ValueError, TypeError, KeyError, AttributeError) as e:
            raise TokenRefused("a malformed payload") from e
        if grant.use != use:
            raise TokenRefused(f"for {grant.use!r}, not {use!r}")
        return grant

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
