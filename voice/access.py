"""Who may open a voice session: the operator's key and the session tokens it buys.

With `--api-key` set, auth is on: only a key holder may call `POST /start`, which mints a
one-time session token for one channel, and every channel (`/ws-client`, `/api/offer`, the
phone stream) opens only with such a token. Without a key, any client on the (loopback)
host may connect, and a token, when presented, only carries the portal's `body`. A phone
stream also needs its token whenever `TWILIO_AUTH_TOKEN` locks the webhook to Twilio.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from loguru import logger

from voice.session_token import Grant, SessionTokens, TokenRefused
from voice.settings import Settings

USES = ("websocket", "webrtc", "phone")


class Access:
    """The operator key check and the session tokens, as this app's settings configure them."""

    def __init__(self, settings: Settings):
        self.settings = settings
        secret = settings.session_secret.encode() if settings.session_secret else None
        self.tokens = SessionTokens(secret or secrets.token_bytes(32), settings.session_ttl)
        self._key = settings.api_key
        self._phone_locked = bool(settings.api_key or settings.twilio_auth_token)

    @property
    def on(self) -> bool:
        """Whether an operator key guards `/start` and every channel needs a token."""
        return self._key is not None

    def is_key(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header carries the operator key (constant time)."""
        given = bearer(authorization) or ""
        return self._key is not None and hmac.compare_digest(given.encode(), self._key.encode())

    def admit(self, token: str | None, use: str) -> Grant | None:
        """Open a session on channel `use` with `token` (from `token_of`): its grant; None
        when auth is off and no valid token came. Raises `TokenRefused` when one is needed."""
        needed = self._phone_locked if use == "phone" else self.on
        if not token:
            if needed:
                raise TokenRefused("missing")
            return None
        try:
            return self.tokens.redeem(token, use)
        except TokenRefused as e:
            if needed:
                raise
            logger.debug(f"{use} session opens without its token's context: the token is {e}")
            return None


def bearer(authorization: str | None) -> str | None:
    """The credential in an `Authorization: Bearer ...` header."""
    scheme, _, credential = (authorization or "").partition(" ")
    return credential.strip() or None if scheme.lower() == "bearer" else None


def token_of(headers: Mapping[str, str], query: Mapping[str, str], in_path: str | None) -> str:
    """A request's session token, where Pipecat's runner looks for one: the URL path,
    `Authorization: Bearer`, or `?token=`; "" when there is none."""
    return in_path or bearer(headers.get("authorization")) or query.get("token") or ""
