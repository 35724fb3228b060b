"""Linktor content as Messenger Send API messages.

Text (with quick replies), image, video, audio and file attachments come
from the shared mapping in `meta.messaging`. Buttons follow the Send API's
limits: up to 3 go in a button template (`postback` buttons carry the reply
id as payload, `web_url` buttons open the link); more than 3 reply-only
options become quick replies (up to 13) under the text; with links among
more than 3 buttons, the links (at most 3) make the template and the reply
options ride along as its quick replies.
"""

from __future__ import annotations

from typing import Any

from channels_app.providers.meta.messaging import (
    UnsupportedContent,
    common_messages,
    quick_replies,
    text_message,
)

MAX_TEMPLATE_BUTTONS = 3
MAX_QUICK_REPLIES = 13


def template_button(button: dict[str, Any]) -> dict[str, Any]:
    if button["type"] == "url":
        return {"type": "web_url", "url": button["url"], "title": button["title"]}
    return {"type": "postback", "title": button["title"], "payload": button["id"]}


def button_template(text: str, buttons: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": text,
                "buttons": [template_button(b) for b in buttons],
            },
        }
    }


def buttons_message(content: dict[str, Any]) -> dict[str, Any]:
    text, buttons = content["text"], content["buttons"]
    if len(buttons) <= MAX_TEMPLATE_BUTTONS:
        return button_template(text, buttons)
    links = [b for b in buttons if b["type"] == "url"]
    replies = [b for b in buttons if b["type"] == "reply"]
    if len(replies) > MAX_QUICK_REPLIES:
        raise UnsupportedContent(f"Messenger shows at most {MAX_QUICK_REPLIES} quick replies.")
    if not links:
        return text_message(text, replies)
    if len(links) > MAX_TEMPLATE_BUTTONS:
        raise UnsupportedContent(
            f"Messenger shows at most {MAX_TEMPLATE_BUTTONS} link buttons in a message."
        )
    message = button_template(text, links)
    if replies:
        message["quick_replies"] = quick_replies(replies)
    return message


def build_messages(content: dict[str, Any]) -> list[dict[str, Any]]:
    """The Send API `message` objects for `content`, in the order they are sent."""
    if content.get("type") == "buttons":
        return [buttons_message(content)]
    return common_messages(content, reusable=True)
