"""Our content as the form fields of Twilio's Create Message request.

Twilio's Messages resource (https://www.twilio.com/docs/messaging/api/message-resource)
takes `To`, a sender (`From`, or `MessagingServiceSid` to let a Messaging
Service pick one), `Body` and, for MMS, one or more `MediaUrl`; Twilio
fetches each URL itself. `StatusCallback` is where Twilio posts the
message's status changes: the channel's own webhook URL.
"""

from __future__ import annotations

from typing import Any

from channels_app.providers.base import Outbound

MEDIA_TYPES = frozenset({"image", "video", "audio", "document"})


class UnsupportedContent(Exception):
    """Content an SMS/MMS cannot carry (location, buttons, templates)."""


def sender_fields(config: dict[str, Any]) -> list[tuple[str, str]]:
    """The sender: the Messaging Service when configured, else the number."""
    service = str(config.get("messagingServiceSid") or "").strip()
    if service:
        return [("MessagingServiceSid", service)]
    return [("From", str(config.get("phoneNumber") or ""))]


def message_form(outbound: Outbound) -> list[tuple[str, str]]:
    """The ordered form fields for `outbound`; raises UnsupportedContent."""
    content = outbound.content
    kind = content.get("type")
    fields: list[tuple[str, str]] = [("To", outbound.to), *sender_fields(outbound.config)]
    if kind == "text":
        fields.append(("Body", str(content.get("text") or "")))
    elif kind in MEDIA_TYPES:
        # An MMS: the caption travels as its text; audio has none.
        caption = str(content.get("caption") or "")
        if caption:
            fields.append(("Body", caption))
        fields.append(("MediaUrl", str(content.get("url") or "")))
    else:
        raise UnsupportedContent(f"SMS cannot carry {kind!r} content.")
    if outbound.webhook_url:
        fields.append(("StatusCallback", outbound.webhook_url))
    return fields
