"""Meta's webhook handshake and signature, shared by WhatsApp, Messenger and Instagram.

Subscription check: Meta calls the callback URL with GET
`hub.mode=subscribe&hub.verify_token=<ours>&hub.challenge=<n>` and expects the
challenge echoed back with 200 when the token matches.

Event notifications carry `X-Hub-Signature-256: sha256=<hex>`, the
HMAC-SHA256 of the raw body with the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from channels_app.providers.base import InboundRequest, WebhookReply

SIGNATURE_HEADER = "x-hub-signature-256"


def handshake(request: InboundRequest, config: dict[str, Any]) -> WebhookReply | None:
    """Echo `hub.challenge` when mode and verify token match; None refuses (403)."""
    expected = str(config.get("verifyToken") or "")
    given = request.query.get("hub.verify_token", "")
    if request.query.get("hub.mode") != "subscribe" or not expected:
        return None
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return None
    return WebhookReply(status=200, body=request.query.get("hub.challenge", "").encode())


def signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(request: InboundRequest, config: dict[str, Any]) -> bool:
    """True when `X-Hub-Signature-256` is the app secret's HMAC of the body.

    A channel without an app secret cannot prove anything and accepts nothing.
    """
    app_secret = str(config.get("appSecret") or "")
    given = request.header(SIGNATURE_HEADER)
    if not app_secret or not given:
        return False
    return hmac.compare_digest(given.encode(), signature(app_secret, request.body).encode())
