"""Webhook signatures: `X-Inbox-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`.

Receivers recompute the HMAC over the timestamp header, a dot and the raw
body with their `whsec_...` secret, compare in constant time, and refuse old
timestamps to stop replays. `verify_signature` is that check, for our tests
and for anyone who wants a reference implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SIGNATURE_PREFIX = "sha256="


def new_webhook_secret() -> str:
    # 32 random bytes, url-safe base64: 43 characters after the prefix.
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_signature(
    secret: str, timestamp: int, body: bytes, header: str, *, now: int, tolerance: int = 300
) -> bool:
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(compute_signature(secret, timestamp, body), header)
