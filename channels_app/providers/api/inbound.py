"""Inbound events from an API channel's integrator: signature check and parsing.

The integrator POSTs JSON to the channel's webhook URL, signed like our own
outgoing webhooks: `X-Inbox-Timestamp: <unix seconds>` and
`X-Inbox-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{raw body}">`
keyed with the channel's `callbackSecret`. Timestamps more than five minutes
off are refused (replays); a channel without a secret accepts nothing.

One event per request, or `{"events": [...]}` for a batch:

- `{"type": "message", "id", "from", "name"?, "content", "timestamp"?, "replyToId"?}`
  with `content` in the same shape the send API takes (validated the same way);
  media arrive as their `url`, which is kept as is (nothing is downloaded).
- `{"type": "status", "messageId", "status": "sent|delivered|read|failed",
  "errorCode"?, "errorMessage"?, "timestamp"?}`
- `{"type": "reaction", "messageId", "from", "name"?, "emoji"}` (empty `emoji`
  removes the sender's reaction).

`timestamp` is ISO-8601 or Unix seconds. Any other `type` is acknowledged and
ignored. A malformed event fails the whole request with 400 and a message
naming the field, before anything is recorded.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from channels_app.providers.base import (
    Ignored,
    InboundEvent,
    InboundMessage,
    InboundReaction,
    InboundRequest,
    InboundStatus,
    InvalidPayload,
)
from inbox.errors import ValidationFailed
from messaging.content import validate_content
from messaging.webhooks.signing import verify_signature

SIGNATURE_TOLERANCE_SECONDS = 300
MAX_BATCH_EVENTS = 100
STATUSES = ("sent", "delivered", "read", "failed")


def verify(request: InboundRequest, config: dict[str, Any]) -> bool:
    """True when the request carries a fresh signature made with `callbackSecret`."""
    secret = config.get("callbackSecret")
    if not isinstance(secret, str) or not secret:
        return False
    timestamp = request.header("x-inbox-timestamp").strip()
    signature = request.header("x-inbox-signature").strip()
    if not signature or not timestamp.isdigit():
        return False
    return verify_signature(
        secret,
        int(timestamp),
        request.body,
        signature,
        now=int(time.time()),
        tolerance=SIGNATURE_TOLERANCE_SECONDS,
    )


def parse(request: InboundRequest, config: dict[str, Any]) -> list[InboundEvent]:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidPayload("The body is not valid JSON.") from None
    if isinstance(data, dict) and "events" in data:
        items = data["events"]
        if not isinstance(items, list) or not items:
            raise InvalidPayload("events: Must be a non-empty list.")
        if len(items) > MAX_BATCH_EVENTS:
            raise InvalidPayload(f"events: At most {MAX_BATCH_EVENTS} events per request.")
        return [_event(item, f"events[{i}]") for i, item in enumerate(items)]
    return [_event(data, "")]


def _field(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _event(item: Any, path: str) -> InboundEvent:
    if not isinstance(item, dict):
        raise InvalidPayload(f"{path or 'body'}: Must be a JSON object.")
    kind = item.get("type")
    if not isinstance(kind, str) or not kind:
        raise InvalidPayload(f"{_field(path, 'type')}: This field is required.")
    if kind == "message":
        return _message(item, path)
    if kind == "status":
        return _status(item, path)
    if kind == "reaction":
        return _reaction(item, path)
    return Ignored(kind=kind[:100], detail=str(item.get("id") or item.get("messageId") or ""))


def _string(item: dict, key: str, path: str, *, required: bool, allow_empty: bool = False) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and key in ("id", "messageId"):
        # Integrators' ids are often numbers; the id is what matters, not its JSON type.
        value = str(value)
    if not isinstance(value, str):
        message = "This field is required." if value is None else "Must be a string."
        raise InvalidPayload(f"{_field(path, key)}: {message}")
    if required and not allow_empty and not value.strip():
        raise InvalidPayload(f"{_field(path, key)}: Must not be blank.")
    if len(value) > 255 and key != "errorMessage":
        raise InvalidPayload(f"{_field(path, key)}: Must be at most 255 characters.")
    return value.strip()


def _timestamp(item: dict, path: str) -> datetime | None:
    value = item.get("timestamp")
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            pass
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise InvalidPayload(
        f"{_field(path, 'timestamp')}: Must be an ISO-8601 date-time or Unix seconds."
    )


def _message(item: dict, path: str) -> InboundMessage:
    try:
        content = validate_content(item.get("content"), path=_field(path, "content"))
    except ValidationFailed as exc:
        raise InvalidPayload(exc.message) from exc
    return InboundMessage(
        provider_message_id=_string(item, "id", path, required=True),
        sender=_string(item, "from", path, required=True),
        sender_name=_string(item, "name", path, required=False),
        content=content,
        received_at=_timestamp(item, path),
        reply_to_provider_id=_string(item, "replyToId", path, required=False) or None,
    )


def _status(item: dict, path: str) -> InboundStatus:
    status = item.get("status")
    if status not in STATUSES:
        raise InvalidPayload(f"{_field(path, 'status')}: Must be one of {', '.join(STATUSES)}.")
    return InboundStatus(
        provider_message_id=_string(item, "messageId", path, required=True),
        status=status,
        at=_timestamp(item, path),
        error_code=_string(item, "errorCode", path, required=False)[:100],
        error_message=_string(item, "errorMessage", path, required=False)[:1000],
    )


def _reaction(item: dict, path: str) -> InboundReaction:
    emoji = _string(item, "emoji", path, required=True, allow_empty=True)
    if len(emoji) > 32:
        raise InvalidPayload(f"{_field(path, 'emoji')}: Must be at most 32 characters.")
    return InboundReaction(
        provider_message_id=_string(item, "messageId", path, required=True),
        sender=_string(item, "from", path, required=True),
        sender_name=_string(item, "name", path, required=False),
        emoji=emoji,
        at=_timestamp(item, path),
    )
