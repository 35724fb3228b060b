"""Linktor content -> WhatsApp Cloud API message objects (POST /<PHONE_NUMBER_ID>/messages).

Every request carries `messaging_product: "whatsapp"`, `recipient_type:
"individual"` and `to` (the number in digits, without '+'), then `type` and
the object of that type, as Meta's Messages API reference documents:

- text: `text: {body, preview_url}`; media by `link` (`image`/`video` with
  `caption`, `document` with `caption` and `filename`, `audio` alone);
  `location: {latitude, longitude, name, address}`;
- buttons and quick replies become `interactive` messages: up to 3 reply
  buttons (`type: "button"`), up to 10 options as a list (`type: "list"`),
  a single URL button as `type: "cta_url"`;
- template: `template: {name, language: {code}, components}` where media
  parameters are `{"link": url}` and button components carry `sub_type`
  and `index`.

A reply quotes the earlier message with `context: {message_id}`.
Content WhatsApp cannot express raises `UnsupportedContent`.
"""

from __future__ import annotations

import re
from typing import Any

# Limits from Meta's interactive message reference.
MAX_REPLY_BUTTONS = 3
MAX_LIST_ROWS = 10
REPLY_BUTTON_TITLE_MAX = 20
LIST_ROW_TITLE_MAX = 24
LIST_BUTTON_LABEL_MAX = 20
CTA_DISPLAY_TEXT_MAX = 20
# The label of the button that opens a list, and its single section's title
# (the Linktor content has no field for either).
LIST_BUTTON_LABEL = "Options"

_URL_RE = re.compile(r"https?://", re.IGNORECASE)
_MEDIA_PARAMETERS = ("image", "video", "document")


class UnsupportedContent(Exception):
    """Content the Cloud API has no message for (mixed URL and reply buttons, ...)."""


def recipient(address: str) -> str:
    """WhatsApp's `to`: the E.164 number's digits, without '+'."""
    return "".join(ch for ch in address if ch.isdigit())


def _clip(text: str, limit: int) -> str:
    # Linktor allows longer titles than WhatsApp; cut with an ellipsis
    # rather than have Meta refuse the whole message.
    return text if len(text) <= limit else text[: limit - 1] + "…"


def envelope(to: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient(to),
        "type": kind,
        kind: body,
    }


def message_payload(
    to: str, content: dict[str, Any], reply_to_external_id: str | None = None
) -> dict[str, Any]:
    """The Messages API request body for one Linktor content object."""
    kind, body = _content_body(content)
    payload = envelope(to, kind, body)
    if reply_to_external_id:
        payload["context"] = {"message_id": reply_to_external_id}
    return payload


def reaction_payload(to: str, message_id: str, emoji: str) -> dict[str, Any]:
    """A reaction; an empty emoji removes the one we sent before."""
    return envelope(to, "reaction", {"message_id": message_id, "emoji": emoji})


def _content_body(content: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = content.get("type")
    if kind == "text":
        replies = content.get("quickReplies")
        if replies:
            options = [{"id": r["id"], "title": r["title"]} for r in replies]
            return "interactive", _reply_options(content["text"], options)
        return "text", _text(content["text"])
    if kind in ("image", "video", "audio", "document"):
        return kind, _media(kind, content)
    if kind == "location":
        return "location", _location(content)
    if kind == "buttons":
        return "interactive", _buttons(content)
    if kind == "template":
        return "template", template_body(content.get("template") or {})
    raise UnsupportedContent(f"WhatsApp cannot send '{kind}' content.")


def _text(text: str) -> dict[str, Any]:
    body: dict[str, Any] = {"body": text}
    if _URL_RE.search(text):
        # Only then: WhatsApp renders a preview of the first URL in the body.
        body["preview_url"] = True
    return body


def _media(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"link": content["url"]}
    # Audio messages have no caption in the Cloud API.
    if kind != "audio" and content.get("caption"):
        body["caption"] = content["caption"]
    if kind == "document" and content.get("filename"):
        body["filename"] = content["filename"]
    return body


def _location(content: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "latitude": content["latitude"],
        "longitude": content["longitude"],
    }
    for key in ("name", "address"):
        if content.get(key):
            body[key] = content[key]
    return body


def _buttons(content: dict[str, Any]) -> dict[str, Any]:
    buttons = content.get("buttons") or []
    urls = [b for b in buttons if b.get("type") == "url"]
    replies = [b for b in buttons if b.get("type") == "reply"]
    if urls and replies:
        raise UnsupportedContent("WhatsApp cannot mix URL buttons and reply buttons in a message.")
    if len(urls) > 1:
        raise UnsupportedContent("WhatsApp messages carry at most one URL button.")
    if urls:
        return {
            "type": "cta_url",
            "body": {"text": content["text"]},
            "action": {
                "name": "cta_url",
                "parameters": {
                    "display_text": _clip(urls[0]["title"], CTA_DISPLAY_TEXT_MAX),
                    "url": urls[0]["url"],
                },
            },
        }
    return _reply_options(content["text"], [{"id": b["id"], "title": b["title"]} for b in replies])


def _reply_options(text: str, options: list[dict[str, str]]) -> dict[str, Any]:
    """Up to 3 options as reply buttons, up to 10 as a list message."""
    if len(options) <= MAX_REPLY_BUTTONS:
        return {
            "type": "button",
            "body": {"text": text},
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {
                            "id": o["id"],
                            "title": _clip(o["title"], REPLY_BUTTON_TITLE_MAX),
                        },
                    }
                    for o in options
                ]
            },
        }
    if len(options) > MAX_LIST_ROWS:
        raise UnsupportedContent(f"WhatsApp lists offer at most {MAX_LIST_ROWS} options.")
    return {
        "type": "list",
        "body": {"text": text},
        "action": {
            "button": LIST_BUTTON_LABEL,
            "sections": [
                {
                    "title": LIST_BUTTON_LABEL,
                    "rows": [
                        {"id": o["id"], "title": _clip(o["title"], LIST_ROW_TITLE_MAX)}
                        for o in options
                    ],
                }
            ],
        },
    }


# --- Templates ------------------------------------------------------------------


def template_body(template: dict[str, Any]) -> dict[str, Any]:
    """`template: {name, language: {code}, components}` from Linktor's template."""
    body: dict[str, Any] = {"name": template["name"], "language": {"code": template["language"]}}
    components: list[dict[str, Any]] = []
    button_index = 0
    for component in template.get("components") or []:
        ctype = component.get("type")
        parameters = [_template_parameter(p) for p in component.get("parameters") or []]
        if ctype == "button":
            index = component.get("index", button_index)
            button_index += 1
        if ctype == "footer" or not parameters:
            # Footers are static text and components without variables need
            # no entry: the approved template already holds them.
            continue
        item: dict[str, Any] = {"type": ctype}
        if ctype == "button":
            item["sub_type"] = _button_sub_type(component, parameters)
            item["index"] = str(index)
        item["parameters"] = parameters
        components.append(item)
    if components:
        body["components"] = components
    return body


def _button_sub_type(component: dict[str, Any], parameters: list[dict[str, Any]]) -> str:
    given = component.get("sub_type") or component.get("subType")
    if given:
        return str(given)
    # A quick-reply button takes a payload; a dynamic URL button takes text.
    return "quick_reply" if any(p.get("type") == "payload" for p in parameters) else "url"


def _template_parameter(param: dict[str, Any]) -> dict[str, Any]:
    ptype = param.get("type")
    out: dict[str, Any] = {"type": ptype}
    name = param.get("parameter_name") or param.get("parameterName")
    if name:
        out["parameter_name"] = name
    if ptype in _MEDIA_PARAMETERS:
        media = param.get(ptype) or {}
        # Linktor names the file's address `url`; the Cloud API calls it `link`.
        item: dict[str, Any] = {"link": media.get("url") or media.get("link")}
        if ptype == "document" and media.get("filename"):
            item["filename"] = media["filename"]
        out[ptype] = item
    elif ptype == "text":
        out["text"] = param.get("text", "")
    elif ptype == "payload":
        out["payload"] = param.get("payload", "")
    elif ptype in ("currency", "date_time"):
        out[ptype] = param.get(ptype) or {}
    return out
