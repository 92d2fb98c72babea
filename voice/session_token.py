"""Signed, self-expiring, one-time session tokens, in the form Pipecat's runner uses.

A token is `<base64url payload>.<hmac-sha256 hex>`. The payload is JSON: `exp` (unix
seconds), `jti` (a random id), and `use` (what it opens: "phone" for a call's media stream).
The runner's own check reads only `exp`, so its tokens and ours verify the same way given
the same secret. A token opens one session: its `jti` is remembered until it expires.
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


class SessionTokens:
    """Mints tokens and redeems each one once."""

    def __init__(self, secret: bytes, ttl: float, clock: Callable[[], float] = time.time):
        self._secret = secret
        self._ttl = ttl
        self._clock = clock
        self._redeemed: dict[str, float] = {}  # jti -> exp, kept until it expires

    def mint(self, use: str) -> str:
        """A new token for `use`, valid for the configured ttl."""
        claims = {"exp": int(self._clock() + self._ttl), "jti": secrets.token_hex(8), "use": use}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return f"{payload}.{self._sign(payload)}"

    def redeem(self, token: str, use: str) -> str | None:
        """Accept `token` for `use` once; None if it is. Otherwise why not (forged, expired,
        for another use, or already used)."""
        payload, _, signature = token.rpartition(".")
        if not payload or not hmac.compare_digest(self._sign(payload), signature):
            return "not signed by this deployment"
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            expires, jti = float(claims["exp"]), str(claims["jti"])
        except (binascii.Error, ValueError, TypeError, KeyError):
            return "a malformed payload"
        now = self._clock()
        if now > expires:
            return "expired"
        if claims.get("use", use) != use:
            return f"for {claims.get('use')!r}, not {use!r}"
        self._redeemed = {j: exp for j, exp in self._redeemed.items() if exp >= now}
        if jti in self._redeemed:
            return "already used"
        self._redeemed[jti] = expires
        return None

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
