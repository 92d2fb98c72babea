"""Twilio's request signature (`X-Twilio-Signature`), checked on the call webhook.

Twilio signs each webhook request with the account's auth token: HMAC-SHA1 over the full URL
it requested, followed by every POST field's name and value, sorted by name, with nothing
between them; base64 encoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def signature(auth_token: str, url: str, form: Iterable[tuple[str, str]]) -> str:
    """The `X-Twilio-Signature` Twilio sends for a POST of `form` to `url`."""
    payload = url + "".join(name + value for name, value in sorted(form))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def is_signed(auth_token: str, url: str, form: Iterable[tuple[str, str]], header: str) -> bool:
    """True when `header` is Twilio's signature of this request, compared in constant time."""
    return hmac.compare_digest(signature(auth_token, url, form).encode(), header.encode())
