"""WhatsApp Cloud API webhooks -> neutral inbound events.

Meta posts `{"object": "whatsapp_business_account", "entry": [{"id": <WABA id>,
"changes": [{"field": "messages", "value": {...}}]}]}`. A `messages` value
names the business number it concerns (`metadata.phone_number_id`) and holds
`contacts` (the senders' profile names), `messages` (what customers sent) and
`statuses` (sent / delivered / read / failed for what we sent), as the
"messages webhook reference" documents. Numbers are given in digits without
'+'; timestamps are unix seconds as strings.

One app's webhook can carry several business numbers: events for a number
other than the channel's `phoneNumberId` are Ignored, never recorded here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from channels_app.providers.base import (
    Ignored,
    InboundEvent,
    InboundMedia,
    InboundMessage,
    InboundReaction,
    InboundRequest,
    InboundStatus,
    InvalidPayload,
)

# Message types whose file WhatsApp keeps until we fetch it by media id,
# and the Linktor content type each becomes (stickers are WebP images).
MEDIA_KINDS = {
    "image": "image",
    "video": "video",
    "audio": "audio",
    "document": "document",
    "sticker": "image",
}
STATUSES = ("sent", "delivered", "read", "failed")


def parse_webhook(request: InboundRequest, config: dict[str, Any]) -> list[InboundEvent]:
    try:
        payload = json.loads(request.body or b"")
    except ValueError as exc:
        raise InvalidPayload("The body is not JSON.") from exc
    if not isinstance(payload, dict):
        raise InvalidPayload("The body is not a JSON object.")
    if payload.get("object") != "whatsapp_business_account":
        return [Ignored(kind=f"object:{payload.get('object')}")]
    events: list[InboundEvent] = []
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            field = change.get("field")
            value = change.get("value")
            if field != "messages" or not isinstance(value, dict):
                events.append(Ignored(kind=f"field:{field}"))
                continue
            events.extend(_parse_value(value, config))
    return events


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _address(wa_id: Any) -> str:
    digits = str(wa_id or "").strip().lstrip("+")
    return f"+{digits}" if digits else ""


def _parse_value(value: dict[str, Any], config: dict[str, Any]) -> list[InboundEvent]:
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    ours = str(config.get("phoneNumberId") or "")
    theirs = str(metadata.get("phone_number_id") or "")
    if not ours or theirs != ours:
        return [Ignored(kind="other_phone_number", detail=theirs)]
    names = {
        str(c.get("wa_id")): str((c.get("profile") or {}).get("name") or "")
        for c in _dicts(value.get("contacts"))
    }
    events: list[InboundEvent] = []
    for message in _dicts(value.get("messages")):
        events.append(_message_event(message, names))
    for status in _dicts(value.get("statuses")):
        events.append(_status_event(status))
    for error in _dicts(value.get("errors")):
        # Errors about the number itself (not one message): logged, not stored.
        events.append(Ignored(kind="error", detail=f"{error.get('code')}: {error.get('title')}"))
    return events


def _message_event(message: dict[str, Any], names: dict[str, str]) -> InboundEvent:
    kind = message.get("type")
    message_id = str(message.get("id") or "")
    sender = _address(message.get("from"))
    if not message_id or not sender:
        return Ignored(kind=f"message:{kind}", detail="without an id or a sender")
    sender_name = names.get(str(message.get("from")), "")
    at = _timestamp(message.get("timestamp"))
    if kind == "reaction":
        reaction = message.get("reaction") if isinstance(message.get("reaction"), dict) else {}
        target = str(reaction.get("message_id") or "")
        if not target:
            return Ignored(kind="message:reaction", detail="without the message reacted to")
        # A removed reaction arrives without `emoji`.
        return InboundReaction(
            provider_message_id=target,
            sender=sender,
            emoji=str(reaction.get("emoji") or ""),
            at=at,
            sender_name=sender_name,
        )
    parsed = _content(kind, message)
    if parsed is None:
        return Ignored(kind=f"message:{kind}", detail=message_id)
    content, media, metadata = parsed
    context = message.get("context") if isinstance(message.get("context"), dict) else {}
    return InboundMessage(
        provider_message_id=message_id,
        sender=sender,
        content=content,
        sender_name=sender_name,
        received_at=at,
        media=media,
        metadata=metadata,
        reply_to_provider_id=str(context.get("id") or "") or None,
    )


_Parsed = tuple[dict[str, Any], tuple[InboundMedia, ...], dict[str, Any]]


def _content(kind: Any, message: dict[str, Any]) -> _Parsed | None:
    """Linktor content, files to fetch and metadata; None for types we do not take."""
    body = message.get(kind) if isinstance(kind, str) else None
    body = body if isinstance(body, dict) else {}
    if kind == "text":
        return {"type": "text", "text": str(body.get("body") or "")}, (), {}
    if kind in MEDIA_KINDS:
        return _media(kind, body)
    if kind == "location":
        return _location(body)
    if kind == "interactive":
        return _interactive(body)
    if kind == "button":
        # A tap on a template's quick-reply button: its label and payload.
        content = {"type": "text", "text": str(body.get("text") or "")}
        return content, (), {"replyType": "button", "replyId": str(body.get("payload") or "")}
    if kind == "contacts":
        return _contacts(message.get("contacts"))
    # unsupported, system, order, request_welcome, ...: nothing to show.
    return None


def _media(kind: str, body: dict[str, Any]) -> _Parsed | None:
    media_id = str(body.get("id") or "")
    if not media_id:
        return None
    content_type = MEDIA_KINDS[kind]
    content: dict[str, Any] = {"type": content_type}
    if body.get("caption") and content_type != "audio":
        content["caption"] = str(body["caption"])
    filename = str(body.get("filename") or "")
    if content_type == "document" and filename:
        content["filename"] = filename
    metadata: dict[str, Any] = {}
    if kind == "sticker":
        metadata["sticker"] = True
    if body.get("voice"):
        metadata["voice"] = True
    media = InboundMedia(
        kind=content_type,
        ref=media_id,
        filename=filename,
        mime_type=str(body.get("mime_type") or ""),
    )
    return content, (media,), metadata


def _location(body: dict[str, Any]) -> _Parsed | None:
    latitude, longitude = body.get("latitude"), body.get("longitude")
    for value in (latitude, longitude):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
    content: dict[str, Any] = {"type": "location", "latitude": latitude, "longitude": longitude}
    for key in ("name", "address"):
        if body.get(key):
            content[key] = str(body[key])
    metadata = {"url": str(body["url"])} if body.get("url") else {}
    return content, (), metadata


def _interactive(body: dict[str, Any]) -> _Parsed | None:
    reply_type = body.get("type")
    if reply_type not in ("button_reply", "list_reply"):
        # Flows (nfm_reply) and others: not a reply we can show as text.
        return None
    reply = body.get(reply_type) if isinstance(body.get(reply_type), dict) else {}
    title = str(reply.get("title") or "")
    metadata: dict[str, Any] = {"replyType": reply_type, "replyId": str(reply.get("id") or "")}
    if reply.get("description"):
        metadata["replyDescription"] = str(reply["description"])
    return {"type": "text", "text": title}, (), metadata


def _contacts(cards: Any) -> _Parsed | None:
    """Shared contact cards as text lines ("Name: +phone"), the cards in metadata."""
    lines = []
    for card in _dicts(cards):
        name = str((card.get("name") or {}).get("formatted_name") or "")
        phones = [str(p.get("phone") or "") for p in _dicts(card.get("phones"))]
        lines.append(": ".join(part for part in (name, ", ".join(p for p in phones if p)) if part))
    text = "\n".join(line for line in lines if line)
    if not text:
        return None
    return {"type": "text", "text": text}, (), {"contacts": _dicts(cards)}


def _status_event(status: dict[str, Any]) -> InboundEvent:
    name = status.get("status")
    message_id = str(status.get("id") or "")
    if name not in STATUSES or not message_id:
        return Ignored(kind=f"status:{name}", detail=message_id)
    code, reason = "", ""
    errors = _dicts(status.get("errors"))
    if name == "failed" and errors:
        code, reason = _error(errors[0])
    return InboundStatus(
        provider_message_id=message_id,
        status=name,
        at=_timestamp(status.get("timestamp")),
        error_code=code,
        error_message=reason,
    )


def _error(error: dict[str, Any]) -> tuple[str, str]:
    """(code, reason) from a status error: title, message and details, without repeats."""
    code = str(error.get("code") or "")
    parts: list[str] = []
    error_data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
    details = error_data.get("details")
    for part in (error.get("title"), error.get("message"), details):
        text = str(part or "").strip()
        if text and text.rstrip(".").lower() not in [p.rstrip(".").lower() for p in parts]:
            parts.append(text)
    return code, " — ".join(parts)
