"""Messenger Platform webhooks (Messenger and Instagram) parsed into neutral events.

A notification is `{"object": "page"|"instagram", "entry": [{"id", "time",
"messaging": [event]}]}`; each event has `sender.id`, `recipient.id`,
`timestamp` (ms) and one of:

- `message`: `mid`, `text`, `attachments[]` (`type` image/video/audio/file,
  `payload.url`; `location` with `payload.coordinates`; shares and reels),
  `quick_reply.payload`, `reply_to.mid`; `is_echo` marks our own sends,
  `is_deleted` an unsent message (Instagram).
- `postback`: a button tap: `title`, `payload`, `mid`.
- `reaction`: `action` react/unreact, `mid`, `emoji` and `reaction` (a name).
- `delivery`: `mids[]` (not always present) and `watermark`, "all messages
  that were sent before this timestamp were delivered": per-message statuses
  when `mids` is there, else (Messenger) an `InboundReadUpTo` "delivered".
- `read`: Messenger reports a `watermark`, "all messages that were sent
  before or at this timestamp were read" (an `InboundReadUpTo`); Instagram
  names the message with `mid` (a status for that message).

Everything else (optins, referrals, handovers, feed changes) is acknowledged
as `Ignored`, as are entries for another page or account than the channel's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from channels_app.providers.base import (
    Ignored,
    InboundEvent,
    InboundMedia,
    InboundMessage,
    InboundReaction,
    InboundReadUpTo,
    InboundStatus,
    InvalidPayload,
)

# Attachment type -> Linktor content type, for files we download.
MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio", "file": "document"}
# Reaction names Meta sends, for the rare event without an `emoji`.
REACTION_EMOJI = {
    "love": "❤️",
    "like": "👍",
    "dislike": "👎",
    "smile": "😊",
    "laugh": "😂",
    "wow": "😮",
    "sad": "😢",
    "angry": "😠",
}
_ENVELOPE_KEYS = frozenset({"sender", "recipient", "timestamp"})


def _when(milliseconds: Any) -> datetime | None:
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, int | float):
        return None
    try:
        return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _filename(url: str) -> str:
    """The file name a CDN URL ends with, when it has an extension."""
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return name if "." in name else ""


def parse_messaging_webhook(
    body: bytes, *, webhook_object: str, account_id: str
) -> list[InboundEvent]:
    """Every event of one notification, in order; raises InvalidPayload for non-JSON."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPayload("The body is not JSON.") from exc
    if not isinstance(data, dict):
        raise InvalidPayload("The body is not a JSON object.")
    if data.get("object") != webhook_object:
        return [Ignored("object", f"object={str(data.get('object'))[:40]}")]
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise InvalidPayload("The notification has no entry list.")
    events: list[InboundEvent] = []
    for entry in entries:
        entry = _dict(entry)
        entry_id = str(entry.get("id") or "")
        if account_id and entry_id != account_id:
            events.append(Ignored("entry", f"for account {entry_id[:40]}, not this channel's"))
            continue
        messaging = entry.get("messaging")
        if not isinstance(messaging, list):
            kinds = sorted(k for k in entry if k not in ("id", "time"))
            events.append(Ignored(",".join(kinds) or "entry", "no messaging events"))
            continue
        for item in messaging:
            events.extend(_event(_dict(item), messenger=webhook_object == "page"))
    return events


def _event(item: dict[str, Any], *, messenger: bool) -> list[InboundEvent]:
    sender = str(_dict(item.get("sender")).get("id") or "")
    at = _when(item.get("timestamp"))
    if "message" in item:
        return [_message(_dict(item["message"]), sender, at)]
    if "postback" in item:
        return [_postback(_dict(item["postback"]), sender, at, item.get("timestamp"))]
    if "reaction" in item:
        return _reaction(_dict(item["reaction"]), sender, at)
    if "delivery" in item:
        return _delivery(_dict(item["delivery"]), sender, at, messenger=messenger)
    if "read" in item:
        return [_read(_dict(item["read"]), sender, at, messenger=messenger)]
    kind = next((key for key in item if key not in _ENVELOPE_KEYS), "unknown")
    return [Ignored(str(kind)[:40])]


def _message(message: dict[str, Any], sender: str, at: datetime | None) -> InboundEvent:
    mid = str(message.get("mid") or "")
    if message.get("is_echo"):
        return Ignored("echo", mid)
    if message.get("is_deleted"):
        return Ignored("message_deleted", mid)
    if not mid or not sender:
        return Ignored("message", "without mid or sender")
    content, media, metadata = _content(message)
    if content is None:
        return Ignored("message", f"{mid}: nothing we can show")
    quick_reply = _dict(message.get("quick_reply"))
    if quick_reply.get("payload"):
        metadata["quickReply"] = {"payload": str(quick_reply["payload"])}
    reply_to = _dict(message.get("reply_to"))
    story = _dict(reply_to.get("story"))
    if story:
        metadata["storyReply"] = {"id": str(story.get("id") or ""), "url": story.get("url")}
    return InboundMessage(
        provider_message_id=mid,
        sender=sender,
        content=content,
        received_at=at,
        media=tuple(media),
        metadata=metadata,
        reply_to_provider_id=str(reply_to["mid"]) if reply_to.get("mid") else None,
    )


def _content(
    message: dict[str, Any],
) -> tuple[dict[str, Any] | None, list[InboundMedia], dict[str, Any]]:
    """(content, files to fetch, metadata) of a message; content None when it is empty."""
    text = str(message.get("text") or "")
    attachments = message.get("attachments")
    if isinstance(attachments, dict):  # documented both as a list and as one object
        attachments = [attachments]
    attachments = [_dict(a) for a in attachments or []]
    metadata: dict[str, Any] = {}
    media = [
        InboundMedia(
            kind=MEDIA_KINDS[a["type"]],
            ref=str(_dict(a.get("payload")).get("url") or ""),
            filename=_filename(str(_dict(a.get("payload")).get("url") or "")),
        )
        for a in attachments
        if a.get("type") in MEDIA_KINDS and _dict(a.get("payload")).get("url")
    ]
    if media:
        first = media[0]
        content: dict[str, Any] = {"type": first.kind}
        if text and first.kind != "audio":
            content["caption"] = text
        elif text:
            metadata["text"] = text
        if first.kind == "document" and first.filename:
            content["filename"] = first.filename
        return content, media, metadata
    for attachment in attachments:
        payload = _dict(attachment.get("payload"))
        coordinates = _dict(payload.get("coordinates"))
        if attachment.get("type") == "location" and {"lat", "long"} <= coordinates.keys():
            content = {
                "type": "location",
                "latitude": coordinates["lat"],
                "longitude": coordinates["long"],
            }
            if attachment.get("title"):
                content["name"] = str(attachment["title"])
            return content, [], metadata
    # Shares, reels, story mentions, fallbacks: what they link to, as text.
    links = []
    for attachment in attachments:
        payload = _dict(attachment.get("payload"))
        title = str(payload.get("title") or attachment.get("title") or "")
        url = str(payload.get("url") or attachment.get("url") or "")
        if title or url:
            links.append(" ".join(p for p in (title, url) if p))
    if attachments:
        metadata["attachmentTypes"] = [str(a.get("type") or "") for a in attachments]
    body = "\n".join(p for p in (text, *links) if p)
    if not body and attachments:
        body = f"[{attachments[0].get('type') or 'attachment'}]"
    if not body:
        return None, [], metadata
    return {"type": "text", "text": body}, [], metadata


def _postback(
    postback: dict[str, Any], sender: str, at: datetime | None, timestamp: Any
) -> InboundEvent:
    title = str(postback.get("title") or "")
    payload = str(postback.get("payload") or "")
    if not sender or not (title or payload):
        return Ignored("postback", "without sender or title")
    # `mid` came with v11; older events are told apart by sender and time.
    mid = str(postback.get("mid") or f"postback:{sender}:{timestamp}")
    return InboundMessage(
        provider_message_id=mid,
        sender=sender,
        content={"type": "text", "text": title or payload},
        received_at=at,
        metadata={"postback": {"title": title, "payload": payload}},
    )


def _reaction(reaction: dict[str, Any], sender: str, at: datetime | None) -> list[InboundEvent]:
    mid = str(reaction.get("mid") or "")
    if not mid or not sender:
        return [Ignored("reaction", "without mid or sender")]
    # One reaction per person on both platforms: a new one replaces the old,
    # so every reaction first clears the sender's previous one.
    removal = InboundReaction(provider_message_id=mid, sender=sender, emoji="", at=at)
    if reaction.get("action") == "unreact":
        return [removal]
    emoji = str(reaction.get("emoji") or REACTION_EMOJI.get(str(reaction.get("reaction")), ""))
    if not emoji:
        return [Ignored("reaction", f"{mid}: no emoji")]
    return [removal, InboundReaction(provider_message_id=mid, sender=sender, emoji=emoji, at=at)]


def _watermark(
    kind: str, body: dict[str, Any], sender: str, at: datetime | None, status: str
) -> InboundEvent:
    """A watermark receipt: a time, not message ids; the services find our messages."""
    watermark = _when(body.get("watermark"))
    if watermark is None or not sender:
        return Ignored(kind, f"watermark {str(body.get('watermark'))[:40]} from {sender[:40]!r}")
    return InboundReadUpTo(sender=sender, at=watermark, status=status, reported_at=at)


def _delivery(
    delivery: dict[str, Any], sender: str, at: datetime | None, *, messenger: bool
) -> list[InboundEvent]:
    mids = delivery.get("mids")
    if not isinstance(mids, list) or not mids:
        # "mids ... may not be present (due to backward compatibility reasons
        # with older Messenger clients). watermark is always present."
        if messenger:
            return [_watermark("delivery", delivery, sender, at, "delivered")]
        return [Ignored("delivery", f"watermark {str(delivery.get('watermark'))[:40]}")]
    watermark = _when(delivery.get("watermark"))
    return [
        InboundStatus(provider_message_id=str(mid), status="delivered", at=watermark)
        for mid in mids
        if mid
    ]


def _read(
    read: dict[str, Any], sender: str, at: datetime | None, *, messenger: bool
) -> InboundEvent:
    if read.get("mid"):
        return InboundStatus(provider_message_id=str(read["mid"]), status="read", at=at)
    if messenger:
        return _watermark("read", read, sender, at, "read")
    return Ignored("read", f"without mid: watermark {str(read.get('watermark'))[:40]}")
