"""Reading Twilio's form-encoded webhooks: incoming messages and status callbacks.

Twilio posts `application/x-www-form-urlencoded` bodies to the channel's
webhook URL for two things:

- an incoming message (https://www.twilio.com/docs/messaging/guides/webhook-request):
  `MessageSid`, `From`, `To`, `Body`, `NumMedia`, and per file
  `MediaUrl{N}` / `MediaContentType{N}`; `SmsStatus` is `received`;
- a status callback for a message we sent, to the `StatusCallback` URL given
  when sending (https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks):
  `MessageSid`, `MessageStatus`, and `ErrorCode` when it failed.

An MMS with several files becomes one message: its content is the first
file (the Body as caption), and every file is attached. Splitting it would
need invented provider ids per part, which would break deduplication on
Twilio's `MessageSid` and the link between the message and its sid.
"""

from __future__ import annotations

from typing import Any

from channels_app.providers.base import (
    Ignored,
    InboundEvent,
    InboundMedia,
    InboundMessage,
    InboundRequest,
    InboundStatus,
    InvalidPayload,
)

# Twilio's outbound statuses that are states of ours. `queued`, `accepted`,
# `scheduled` and `sending` precede `sent`, which our message already is
# once Twilio accepted it; they carry nothing new.
STATUS_MAP = {
    "sent": "sent",
    "delivered": "delivered",
    # Only channels with read receipts (WhatsApp, RCS) report it.
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    # Only scheduled messages can be canceled; it was never delivered.
    "canceled": "failed",
}
PRECURSOR_STATUSES = frozenset({"queued", "accepted", "scheduled", "sending"})
INBOUND_STATUSES = frozenset({"received", "receiving"})

# Readable reasons for the delivery error codes Twilio reports in
# `ErrorCode` (https://www.twilio.com/docs/api/errors). Status callbacks
# carry only the number.
ERROR_REASONS = {
    "30001": "Queue overflow: too many messages were queued for this sender.",
    "30002": "Account suspended.",
    "30003": "Unreachable destination handset: the phone is off or out of coverage.",
    "30004": "Message blocked: the recipient blocked messages from this number.",
    "30005": "Unknown destination handset: the number does not exist.",
    "30006": "Landline or unreachable carrier: the number cannot receive SMS.",
    "30007": "Message filtered by the carrier (carrier violation).",
    "30008": "Unknown error reported by the carrier.",
    "30009": "Missing segment: part of a long message never arrived.",
    "30010": "The message price exceeds the maximum price set.",
}
MAX_MEDIA = 10


def error_reason(code: str, twilio_status: str) -> str:
    if code in ERROR_REASONS:
        return ERROR_REASONS[code]
    if code:
        return f"Twilio reported the message {twilio_status} (error {code})."
    return f"Twilio reported the message {twilio_status}."


def media_kind(content_type: str) -> str:
    """Our content type for a file Twilio describes by its MIME type."""
    major = content_type.split("/", 1)[0].strip().lower()
    return major if major in ("image", "video", "audio") else "document"


def parse_form(request: InboundRequest) -> list[InboundEvent]:
    form = request.form()
    if not form:
        raise InvalidPayload("Expected Twilio's form-encoded parameters.")
    message_status = form.get("MessageStatus", "").strip().lower()
    if message_status and message_status not in INBOUND_STATUSES:
        return [_status(form, message_status)]
    if "Body" in form or "NumMedia" in form:
        return [_message(form)]
    return [Ignored(kind="twilio", detail=_describe(form))]


def _describe(form: dict[str, str]) -> str:
    # Parameter names only: values may be personal data.
    return "parameters " + ",".join(sorted(form))[:300]


def _status(form: dict[str, str], twilio_status: str) -> InboundEvent:
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    ours = STATUS_MAP.get(twilio_status)
    if not sid or ours is None:
        detail = "precursor status" if twilio_status in PRECURSOR_STATUSES else "unknown status"
        return Ignored(kind=f"status.{twilio_status}"[:60], detail=f"{detail} {sid}".strip())
    if ours != "failed":
        return InboundStatus(provider_message_id=sid, status=ours)
    code = form.get("ErrorCode", "").strip()
    return InboundStatus(
        provider_message_id=sid,
        status="failed",
        error_code=code or twilio_status.upper(),
        error_message=error_reason(code, twilio_status),
    )


def _message(form: dict[str, str]) -> InboundMessage:
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or ""
    sender = form.get("From", "").strip()
    if not sid or not sender:
        raise InvalidPayload("An incoming message needs MessageSid and From.")
    body = form.get("Body", "")
    media = _media(form)
    metadata: dict[str, Any] = {}
    if not media:
        content: dict[str, Any] = {"type": "text", "text": body}
    else:
        lead = _lead(media, bool(body))
        # The file stored first becomes the content's URL: fetch the lead first.
        media = (lead, *(item for item in media if item is not lead))
        content = {"type": lead.kind}
        if body and lead.kind != "audio":
            content["caption"] = body
        elif body:
            # Our audio content has no caption; the text is kept beside it.
            metadata["body"] = body
    return InboundMessage(
        provider_message_id=sid,
        sender=sender,
        content=content,
        sender_name=form.get("ProfileName", ""),
        media=media,
        metadata=metadata,
    )


def _media(form: dict[str, str]) -> tuple[InboundMedia, ...]:
    raw = form.get("NumMedia", "0").strip()
    count = min(int(raw), MAX_MEDIA) if raw.isdigit() else 0
    files = []
    for index in range(count):
        url = form.get(f"MediaUrl{index}", "").strip()
        if not url:
            continue
        mime = form.get(f"MediaContentType{index}", "").strip()
        files.append(InboundMedia(kind=media_kind(mime), ref=url, mime_type=mime))
    return tuple(files)


def _lead(media: tuple[InboundMedia, ...], has_body: bool) -> InboundMedia:
    """The file that gives the message its content type.

    The first one, unless the message has text and another file can carry it
    as a caption (audio cannot).
    """
    if has_body:
        for item in media:
            if item.kind != "audio":
                return item
    return media[0]
