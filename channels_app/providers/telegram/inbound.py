"""Telegram webhooks: the secret-token check, and an Update as neutral events.

setWebhook's `secret_token` comes back on every delivery in the
`X-Telegram-Bot-Api-Secret-Token` header; that is the whole proof a request
is Telegram's (https://core.telegram.org/bots/api#setwebhook).

An Update carries one optional field per kind
(https://core.telegram.org/bots/api#update). We read `message` and
`channel_post` (text, photo, document, audio, voice, video, video_note,
animation, sticker, location, venue, contact), `callback_query` (a tap on one
of our inline buttons, as a text message) and `message_reaction`. Edits
(`edited_message`, `edited_channel_post`) and every other kind are `Ignored`.

The contact is the chat: replies go to `chat.id`, which in a private chat is
the user's id. Files are only referenced (`file_id`) and fetched later.
"""

from __future__ import annotations

import hmac
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
    InvalidPayload,
)
from channels_app.providers.telegram.payloads import provider_id

SECRET_HEADER = "x-telegram-bot-api-secret-token"
# Message fields that are media, checked in this order: an animation also
# carries `document`, a venue also carries `location`.
_MEDIA_FIELDS = (
    ("animation", "video"),
    ("photo", "image"),
    ("video", "video"),
    ("video_note", "video"),
    ("voice", "audio"),
    ("audio", "audio"),
    ("document", "document"),
)
# Telegram sends these without a MIME type; the file is always of this kind.
_DEFAULT_MIME = {"photo": "image/jpeg", "voice": "audio/ogg", "video_note": "video/mp4"}


def verify(request: InboundRequest, config: dict[str, Any]) -> bool:
    """True when the secret-token header equals the channel's `webhookSecret`."""
    expected = str(config.get("webhookSecret") or "")
    given = request.header(SECRET_HEADER)
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def parse(request: InboundRequest, config: dict[str, Any]) -> list[InboundEvent]:
    try:
        update = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPayload("The body is not JSON.") from exc
    if not isinstance(update, dict):
        raise InvalidPayload("A Telegram Update is a JSON object.")
    for kind in ("message", "channel_post"):
        if isinstance(update.get(kind), dict):
            return [_message(update[kind], kind)]
    if isinstance(update.get("callback_query"), dict):
        return [_callback_query(update["callback_query"])]
    if isinstance(update.get("message_reaction"), dict):
        return _reactions(update["message_reaction"])
    kinds = [key for key in update if key != "update_id"]
    return [
        Ignored(kind=kinds[0] if kinds else "unknown", detail=f"update {update.get('update_id')}")
    ]


# --- Messages -------------------------------------------------------------------


def _person_name(user: dict[str, Any]) -> str:
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
    return name or str(user.get("username") or "")


def _sender_name(message: dict[str, Any]) -> str:
    chat = message.get("chat") or {}
    if chat.get("type") == "private":
        return _person_name(message.get("from") or chat)
    # A group or channel is the contact: name it by its title.
    return str(chat.get("title") or "") or _person_name(message.get("from") or {})


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def _media(message: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(field, kind, file object) of the message's file, if it has one."""
    for field, kind in _MEDIA_FIELDS:
        value = message.get(field)
        if field == "photo" and isinstance(value, list) and value:
            # PhotoSize variants of one photo: keep the largest.
            sizes = [p for p in value if isinstance(p, dict) and p.get("file_id")]
            if sizes:
                largest = max(sizes, key=lambda p: p.get("width", 0) * p.get("height", 0))
                return field, kind, largest
        elif isinstance(value, dict) and value.get("file_id"):
            return field, kind, value
    return None


def _content(message: dict[str, Any]) -> tuple[dict[str, Any], tuple[InboundMedia, ...], dict]:
    """(content, media, extra metadata); LookupError names a kind we do not carry."""
    caption = message.get("caption")
    found = _media(message)
    if found is not None:
        field, kind, file = found
        content: dict[str, Any] = {"type": kind}
        if caption and kind in ("image", "video", "document"):
            content["caption"] = caption
        filename = str(file.get("file_name") or "")
        if kind == "document" and filename:
            content["filename"] = filename
        media = InboundMedia(
            kind=kind,
            ref=str(file["file_id"]),
            filename=filename,
            mime_type=str(file.get("mime_type") or _DEFAULT_MIME.get(field, "")),
        )
        extra = {"caption": caption} if caption and "caption" not in content else {}
        return content, (media,), extra
    sticker = message.get("sticker")
    if isinstance(sticker, dict):
        # Static stickers are WebP images; animated (TGS) and video (WebM)
        # ones are shown by their thumbnail, a still image.
        still = sticker if not (sticker.get("is_animated") or sticker.get("is_video")) else None
        still = still or sticker.get("thumbnail") or sticker.get("thumb")
        if isinstance(still, dict) and still.get("file_id"):
            media = InboundMedia(kind="image", ref=str(still["file_id"]), mime_type="image/webp")
            extra = {
                "sticker": {
                    "emoji": sticker.get("emoji", ""),
                    "setName": sticker.get("set_name", ""),
                }
            }
            return {"type": "image"}, (media,), extra
        raise LookupError("sticker")
    venue = message.get("venue")
    if isinstance(venue, dict) and isinstance(venue.get("location"), dict):
        location = venue["location"]
        content = {
            "type": "location",
            "latitude": location.get("latitude"),
            "longitude": location.get("longitude"),
            "name": str(venue.get("title") or ""),
            "address": str(venue.get("address") or ""),
        }
        return {k: v for k, v in content.items() if v != ""}, (), {}
    location = message.get("location")
    if isinstance(location, dict):
        content = {
            "type": "location",
            "latitude": location.get("latitude"),
            "longitude": location.get("longitude"),
        }
        return content, (), {}
    contact = message.get("contact")
    if isinstance(contact, dict):
        # A shared contact card: its name and number as text, the card as metadata.
        name = _person_name(contact)
        text = " ".join(p for p in (name, str(contact.get("phone_number") or "")) if p)
        card = {
            "phoneNumber": contact.get("phone_number", ""),
            "firstName": contact.get("first_name", ""),
            "lastName": contact.get("last_name", ""),
            "userId": contact.get("user_id"),
        }
        return {"type": "text", "text": text}, (), {"contact": card}
    text = message.get("text")
    if isinstance(text, str) and text:
        return {"type": "text", "text": text}, (), {}
    raise LookupError(next((k for k in message if k not in _ENVELOPE), "empty"))


# Fields every Message has, whatever it carries.
_ENVELOPE = frozenset(
    {"message_id", "message_thread_id", "from", "sender_chat", "date", "chat", "reply_to_message"}
)


def _message(message: dict[str, Any], kind: str) -> InboundEvent:
    chat = message.get("chat") or {}
    chat_id, message_id = chat.get("id"), message.get("message_id")
    if chat_id is None or message_id is None:
        return Ignored(kind=kind, detail="no chat id or message id")
    try:
        content, media, extra = _content(message)
    except LookupError as exc:
        # Polls, dice, games, service messages (members joining, pins, ...).
        return Ignored(kind=f"{kind}.{exc.args[0]}", detail=provider_id(chat_id, message_id))
    metadata: dict[str, Any] = {"telegram": {"chatType": chat.get("type", "")}, **extra}
    sender = message.get("from") or {}
    if chat.get("type") != "private" and sender:
        # In a group the contact is the group; keep who actually wrote.
        metadata["telegram"]["from"] = {"id": sender.get("id"), "name": _person_name(sender)}
    reply = message.get("reply_to_message")
    reply_id = message_id_of(reply, chat_id) if isinstance(reply, dict) else None
    return InboundMessage(
        provider_message_id=provider_id(chat_id, message_id),
        sender=str(chat_id),
        content=content,
        sender_name=_sender_name(message),
        received_at=_timestamp(message.get("date")),
        media=media,
        metadata=metadata,
        reply_to_provider_id=reply_id,
    )


def message_id_of(message: dict[str, Any], default_chat: Any) -> str | None:
    chat_id = (message.get("chat") or {}).get("id", default_chat)
    message_id = message.get("message_id")
    return provider_id(chat_id, message_id) if message_id is not None else None


# --- Button taps ------------------------------------------------------------------


def _button_title(message: dict[str, Any], data: str) -> str:
    """The title of the inline button whose callback_data is `data`, if still known."""
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    for row in keyboard:
        for button in row if isinstance(row, list) else ():
            if isinstance(button, dict) and button.get("callback_data") == data:
                return str(button.get("text") or "")
    return ""


def _callback_query(query: dict[str, Any]) -> InboundEvent:
    data = query.get("data")
    user = query.get("from") or {}
    if not isinstance(data, str) or not data or not query.get("id"):
        # Game buttons and inline-mode taps carry no data we sent.
        return Ignored(kind="callback_query", detail="no callback data")
    message = query.get("message") if isinstance(query.get("message"), dict) else {}
    chat_id = (message.get("chat") or {}).get("id", user.get("id"))
    if chat_id is None:
        return Ignored(kind="callback_query", detail="no chat")
    title = _button_title(message, data)
    return InboundMessage(
        provider_message_id=f"cbq:{query['id']}",
        sender=str(chat_id),
        # What the customer chose, as they saw it; the id is in the metadata.
        content={"type": "text", "text": title or data},
        sender_name=_person_name(user),
        metadata={
            "interactive": {"type": "button_reply", "id": data, "title": title},
            "telegram": {"callbackQueryId": str(query["id"])},
        },
        reply_to_provider_id=message_id_of(message, chat_id) if message else None,
    )


# --- Reactions ----------------------------------------------------------------------


def _emoji(reactions: Any) -> list[str]:
    return [
        str(r["emoji"])
        for r in reactions or ()
        if isinstance(r, dict) and r.get("type") == "emoji" and r.get("emoji")
    ]


def _reactions(update: dict[str, Any]) -> list[InboundEvent]:
    """A MessageReactionUpdated as reaction events: removals first, then additions.

    Our services record a removal as an empty emoji (every reaction of the
    sender goes), so a change of reaction is "remove all" then the new set.
    Custom-emoji and paid reactions are not emoji and are left out.
    """
    chat_id = (update.get("chat") or {}).get("id")
    message_id = update.get("message_id")
    if chat_id is None or message_id is None:
        return [Ignored(kind="message_reaction", detail="no chat id or message id")]
    old, new = _emoji(update.get("old_reaction")), _emoji(update.get("new_reaction"))
    target = provider_id(chat_id, message_id)
    user = update.get("user") or update.get("actor_chat") or {}
    common = {
        "provider_message_id": target,
        "sender": str(chat_id),
        "at": _timestamp(update.get("date")),
        "sender_name": _person_name(user) or str(user.get("title") or ""),
    }
    events: list[InboundEvent] = []
    if any(e not in new for e in old):
        events.append(InboundReaction(emoji="", **common))
        events.extend(InboundReaction(emoji=e, **common) for e in new)
    else:
        events.extend(InboundReaction(emoji=e, **common) for e in new if e not in old)
    return events or [Ignored(kind="message_reaction", detail=f"{target}: no emoji change")]
