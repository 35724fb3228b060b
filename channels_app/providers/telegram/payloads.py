"""Linktor content to Bot API method calls, and our message ids to Telegram's.

Each content type maps to the method the Bot API documents for it
(https://core.telegram.org/bots/api#available-methods): text and buttons to
`sendMessage` (buttons as an `InlineKeyboardMarkup`), image to `sendPhoto`,
document to `sendDocument`, audio to `sendAudio`, video to `sendVideo`,
location to `sendLocation`, or `sendVenue` when it has a name or address.
Media go by HTTP URL, which Telegram downloads itself.

A Telegram message id is only unique inside its chat, so our provider ids are
`"{chat_id}:{message_id}"`, outbound and inbound alike.
"""

from __future__ import annotations

import re
from typing import Any

from channels_app.providers.base import Outbound

# InlineKeyboardButton.callback_data: "Data to be sent in a callback query to
# the bot when the button is pressed, 1-64 bytes".
CALLBACK_DATA_MAX_BYTES = 64
_NUMERIC_CHAT_RE = re.compile(r"^-?\d+$")
# Telegram's reaction emoji are listed without the emoji variation selector
# ("❤", not "❤️"); clients add it, the Bot API refuses it.
VARIATION_SELECTOR = "\ufe0f"


class ContentError(ValueError):
    """The content cannot be expressed on Telegram (a permanent failure)."""


def chat_id(address: str) -> int | str:
    """Numeric chat ids as integers, `@channelusername` as given (both documented)."""
    return int(address) if _NUMERIC_CHAT_RE.match(address) else address


def provider_id(chat: Any, message_id: Any) -> str:
    return f"{chat}:{message_id}"


def split_provider_id(external_id: str) -> tuple[int | str, int] | None:
    """(chat_id, message_id) of a `"{chat_id}:{message_id}"` id; None for anything else.

    Ids of callback queries (`cbq:...`) name no message and give None.
    """
    chat, _, message = (external_id or "").rpartition(":")
    if not chat or not message.isdigit() or not _NUMERIC_CHAT_RE.match(chat):
        return None
    return int(chat), int(message)


def reaction_emoji(emoji: str) -> str:
    return emoji.replace(VARIATION_SELECTOR, "")


def _button(title: str, *, data: str = "", url: str = "") -> dict[str, str]:
    if url:
        return {"text": title, "url": url}
    if not 1 <= len(data.encode()) <= CALLBACK_DATA_MAX_BYTES:
        raise ContentError(
            f"Button id {data!r} is longer than Telegram's {CALLBACK_DATA_MAX_BYTES}-byte "
            "callback_data."
        )
    return {"text": title, "callback_data": data}


def inline_keyboard(content: dict[str, Any]) -> dict[str, Any] | None:
    """The `reply_markup` for buttons or quick replies: one button per row.

    A reply button's id becomes its `callback_data`, which Telegram sends back
    in the `callback_query` when the customer taps it; a url button opens
    the link. One per row keeps titles of up to 40 characters readable.
    """
    rows: list[list[dict[str, str]]] = []
    for button in content.get("buttons") or ():
        if button.get("type") == "url":
            rows.append([_button(button["title"], url=button["url"])])
        else:
            rows.append([_button(button["title"], data=str(button.get("id") or ""))])
    for reply in content.get("quickReplies") or ():
        rows.append([_button(reply["title"], data=str(reply.get("id") or ""))])
    return {"inline_keyboard": rows} if rows else None


def _with_caption(params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    if content.get("caption"):
        params["caption"] = content["caption"]
    return params


def content_call(content: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(method, parameters without chat_id) for one Linktor content object."""
    kind = content.get("type")
    if kind in ("text", "buttons"):
        params: dict[str, Any] = {"text": content.get("text", "")}
        keyboard = inline_keyboard(content)
        if keyboard:
            params["reply_markup"] = keyboard
        return "sendMessage", params
    if kind == "image":
        return "sendPhoto", _with_caption({"photo": content["url"]}, content)
    if kind == "document":
        # A file sent by URL keeps the name Telegram derives from the URL
        # (no filename parameter exists for it), and Telegram fetches by URL
        # only GIF, PDF and ZIP documents: others are refused with a 400.
        return "sendDocument", _with_caption({"document": content["url"]}, content)
    if kind == "audio":
        return "sendAudio", {"audio": content["url"]}
    if kind == "video":
        return "sendVideo", _with_caption({"video": content["url"]}, content)
    if kind == "location":
        params = {"latitude": content["latitude"], "longitude": content["longitude"]}
        name, address = content.get("name") or "", content.get("address") or ""
        if not (name or address):
            return "sendLocation", params
        # sendVenue requires both title and address: use what there is for both.
        params.update(title=name or address, address=address or name)
        return "sendVenue", params
    raise ContentError(f"Telegram bots cannot send {kind!r} messages.")


def send_call(outbound: Outbound) -> tuple[str, dict[str, Any]]:
    """(method, full parameters) for an outbound message."""
    method, params = content_call(outbound.content)
    params = {"chat_id": chat_id(outbound.to), **params}
    target = split_provider_id(outbound.reply_to_external_id or "")
    if target is not None:
        # Sending still works if the customer deleted the message we quote.
        params["reply_parameters"] = {
            "message_id": target[1],
            "allow_sending_without_reply": True,
        }
    return method, params
