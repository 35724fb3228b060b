"""Message content: field-by-field validation of every content type, and its plain text.

The content object is stored and rendered exactly as the Linktor contract
defines it (`{"type": "text", "text": ...}`, `{"type": "image", "url": ...}`,
...). `validate_content` returns a cleaned copy or raises `ValidationFailed`
naming every bad field (`content.buttons[1].url`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from inbox.errors import ValidationFailed

CONTENT_TYPES = ("text", "image", "document", "audio", "video", "location", "buttons", "template")
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_QUICK_REPLIES = 13
MAX_BUTTONS = 10
MAX_BUTTON_TITLE = 40
TEMPLATE_COMPONENT_TYPES = ("header", "body", "footer", "button")
TEMPLATE_PARAMETER_TYPES = (
    "text",
    "image",
    "document",
    "video",
    "currency",
    "date_time",
    "payload",
)


class _Errors:
    def __init__(self) -> None:
        self.details: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.details.append({"field": field, "message": message})

    def raise_if_any(self) -> None:
        if self.details:
            first = self.details[0]
            raise ValidationFailed(f"{first['field']}: {first['message']}", details=self.details)


def _is_url(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 2000:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _string(
    data: dict,
    key: str,
    path: str,
    errors: _Errors,
    *,
    required: bool,
    max_length: int = 1000,
    out: dict,
) -> None:
    value = data.get(key)
    if value is None:
        if required:
            errors.add(f"{path}.{key}", "This field is required.")
        return
    if not isinstance(value, str):
        errors.add(f"{path}.{key}", "Must be a string.")
        return
    if required and not value.strip():
        errors.add(f"{path}.{key}", "Must not be blank.")
        return
    if len(value) > max_length:
        errors.add(f"{path}.{key}", f"Must be at most {max_length} characters.")
        return
    out[key] = value


def _url(data: dict, key: str, path: str, errors: _Errors, *, required: bool, out: dict) -> None:
    value = data.get(key)
    if value is None:
        if required:
            errors.add(f"{path}.{key}", "This field is required.")
        return
    if not _is_url(value):
        errors.add(f"{path}.{key}", "Must be an http(s) URL.")
        return
    out[key] = value


def _number(
    data: dict, key: str, path: str, errors: _Errors, *, low: float, high: float, out: dict
) -> None:
    value = data.get(key)
    if value is None:
        errors.add(f"{path}.{key}", "This field is required.")
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors.add(f"{path}.{key}", "Must be a number.")
        return
    if not low <= value <= high:
        errors.add(f"{path}.{key}", f"Must be between {low:g} and {high:g}.")
        return
    out[key] = value


def _reject_unknown(data: dict, allowed: set[str], path: str, errors: _Errors) -> None:
    for key in data:
        if key not in allowed:
            errors.add(f"{path}.{key}", "Unknown field.")


def _text(data: dict, path: str, errors: _Errors) -> dict:
    out: dict[str, Any] = {"type": "text"}
    _reject_unknown(data, {"type", "text", "quickReplies"}, path, errors)
    _string(data, "text", path, errors, required=True, max_length=MAX_TEXT_LENGTH, out=out)
    replies = data.get("quickReplies")
    if replies is not None:
        if not isinstance(replies, list) or not replies:
            errors.add(f"{path}.quickReplies", "Must be a non-empty list.")
        elif len(replies) > MAX_QUICK_REPLIES:
            errors.add(f"{path}.quickReplies", f"At most {MAX_QUICK_REPLIES} quick replies.")
        else:
            cleaned = []
            for i, reply in enumerate(replies):
                item_path = f"{path}.quickReplies[{i}]"
                if not isinstance(reply, dict):
                    errors.add(item_path, "Must be an object with id and title.")
                    continue
                item: dict[str, Any] = {}
                _reject_unknown(reply, {"id", "title"}, item_path, errors)
                _string(reply, "id", item_path, errors, required=True, max_length=256, out=item)
                _string(
                    reply,
                    "title",
                    item_path,
                    errors,
                    required=True,
                    max_length=MAX_BUTTON_TITLE,
                    out=item,
                )
                cleaned.append(item)
            out["quickReplies"] = cleaned
    return out


def _media(kind: str, *, caption: bool, filename: bool) -> Callable[[dict, str, _Errors], dict]:
    def validate(data: dict, path: str, errors: _Errors) -> dict:
        out: dict[str, Any] = {"type": kind}
        allowed = {"type", "url"} | ({"caption"} if caption else set())
        allowed |= {"filename"} if filename else set()
        _reject_unknown(data, allowed, path, errors)
        _url(data, "url", path, errors, required=True, out=out)
        if caption:
            _string(
                data,
                "caption",
                path,
                errors,
                required=False,
                max_length=MAX_CAPTION_LENGTH,
                out=out,
            )
        if filename:
            _string(data, "filename", path, errors, required=False, max_length=255, out=out)
        return out

    return validate


def _location(data: dict, path: str, errors: _Errors) -> dict:
    out: dict[str, Any] = {"type": "location"}
    _reject_unknown(data, {"type", "latitude", "longitude", "name", "address"}, path, errors)
    _number(data, "latitude", path, errors, low=-90, high=90, out=out)
    _number(data, "longitude", path, errors, low=-180, high=180, out=out)
    _string(data, "name", path, errors, required=False, max_length=1000, out=out)
    _string(data, "address", path, errors, required=False, max_length=1000, out=out)
    return out


def _buttons(data: dict, path: str, errors: _Errors) -> dict:
    out: dict[str, Any] = {"type": "buttons"}
    _reject_unknown(data, {"type", "text", "buttons"}, path, errors)
    _string(data, "text", path, errors, required=True, max_length=MAX_TEXT_LENGTH, out=out)
    buttons = data.get("buttons")
    if buttons is None:
        errors.add(f"{path}.buttons", "This field is required.")
        return out
    if not isinstance(buttons, list) or not buttons:
        errors.add(f"{path}.buttons", "Must be a non-empty list.")
        return out
    if len(buttons) > MAX_BUTTONS:
        errors.add(f"{path}.buttons", f"At most {MAX_BUTTONS} buttons.")
        return out
    cleaned = []
    for i, button in enumerate(buttons):
        item_path = f"{path}.buttons[{i}]"
        if not isinstance(button, dict):
            errors.add(item_path, "Must be an object.")
            continue
        kind = button.get("type")
        item: dict[str, Any] = {"type": kind}
        if kind == "reply":
            _reject_unknown(button, {"type", "id", "title"}, item_path, errors)
            _string(button, "id", item_path, errors, required=True, max_length=256, out=item)
        elif kind == "url":
            _reject_unknown(button, {"type", "title", "url"}, item_path, errors)
            _url(button, "url", item_path, errors, required=True, out=item)
        else:
            errors.add(f"{item_path}.type", "Must be 'reply' or 'url'.")
            continue
        _string(
            button, "title", item_path, errors, required=True, max_length=MAX_BUTTON_TITLE, out=item
        )
        cleaned.append(item)
    out["buttons"] = cleaned
    return out


def _template(data: dict, path: str, errors: _Errors) -> dict:
    out: dict[str, Any] = {"type": "template"}
    _reject_unknown(data, {"type", "template"}, path, errors)
    template = data.get("template")
    tpath = f"{path}.template"
    if template is None:
        errors.add(tpath, "This field is required.")
        return out
    if not isinstance(template, dict):
        errors.add(tpath, "Must be an object.")
        return out
    cleaned: dict[str, Any] = {}
    _reject_unknown(template, {"name", "language", "components"}, tpath, errors)
    _string(template, "name", tpath, errors, required=True, max_length=512, out=cleaned)
    _string(template, "language", tpath, errors, required=True, max_length=16, out=cleaned)
    components = template.get("components")
    if components is not None:
        if not isinstance(components, list):
            errors.add(f"{tpath}.components", "Must be a list.")
        else:
            cleaned_components = []
            for i, component in enumerate(components):
                cpath = f"{tpath}.components[{i}]"
                if not isinstance(component, dict):
                    errors.add(cpath, "Must be an object.")
                    continue
                ctype = component.get("type")
                if ctype not in TEMPLATE_COMPONENT_TYPES:
                    errors.add(
                        f"{cpath}.type", f"Must be one of {', '.join(TEMPLATE_COMPONENT_TYPES)}."
                    )
                    continue
                params = component.get("parameters", [])
                if not isinstance(params, list):
                    errors.add(f"{cpath}.parameters", "Must be a list.")
                    continue
                for j, param in enumerate(params):
                    ppath = f"{cpath}.parameters[{j}]"
                    if not isinstance(param, dict):
                        errors.add(ppath, "Must be an object.")
                        continue
                    ptype = param.get("type")
                    if ptype not in TEMPLATE_PARAMETER_TYPES:
                        errors.add(
                            f"{ppath}.type",
                            f"Must be one of {', '.join(TEMPLATE_PARAMETER_TYPES)}.",
                        )
                    elif ptype == "text" and not isinstance(param.get("text"), str):
                        errors.add(f"{ppath}.text", "This field is required.")
                    elif ptype in ("image", "document", "video"):
                        media = param.get(ptype)
                        if not isinstance(media, dict) or not _is_url(media.get("url")):
                            errors.add(f"{ppath}.{ptype}.url", "Must be an http(s) URL.")
                cleaned_components.append(component)
            cleaned["components"] = cleaned_components
    out["template"] = cleaned
    return out


_VALIDATORS: dict[str, Callable[[dict, str, _Errors], dict]] = {
    "text": _text,
    "image": _media("image", caption=True, filename=False),
    "document": _media("document", caption=True, filename=True),
    "audio": _media("audio", caption=False, filename=False),
    "video": _media("video", caption=True, filename=False),
    "location": _location,
    "buttons": _buttons,
    "template": _template,
}


def validate_content(content: Any, *, path: str = "content") -> dict[str, Any]:
    """Return a cleaned copy of `content`, or raise ValidationFailed naming the fields."""
    errors = _Errors()
    if content is None:
        errors.add(path, "This field is required.")
        errors.raise_if_any()
    if not isinstance(content, dict):
        errors.add(path, "Must be an object.")
        errors.raise_if_any()
    kind = content.get("type")
    if kind is None:
        errors.add(f"{path}.type", "This field is required.")
        errors.raise_if_any()
    if kind not in _VALIDATORS:
        errors.add(f"{path}.type", f"Unknown content type; use one of {', '.join(CONTENT_TYPES)}.")
        errors.raise_if_any()
    cleaned = _VALIDATORS[kind](content, path, errors)
    errors.raise_if_any()
    return cleaned


def content_text(content: dict[str, Any]) -> str:
    """Plain text of a content object, for search, previews and SMS/email bodies."""
    kind = content.get("type")
    if kind in ("text", "buttons"):
        return content.get("text", "")
    if kind in ("image", "video", "document"):
        return content.get("caption", "") or content.get("filename", "")
    if kind == "location":
        return " ".join(p for p in (content.get("name", ""), content.get("address", "")) if p)
    if kind == "template":
        template = content.get("template", {})
        texts = [
            p.get("text", "")
            for c in template.get("components", [])
            for p in c.get("parameters", [])
            if p.get("type") == "text"
        ]
        return " ".join([template.get("name", ""), *texts]).strip()
    return ""


def content_preview(content: dict[str, Any], limit: int = 120) -> str:
    """Short label for lists: the text, or the kind of content when there is none."""
    text = content_text(content)
    if not text:
        text = {
            "image": "Photo",
            "video": "Video",
            "audio": "Audio",
            "document": "Document",
            "location": "Location",
            "template": "Template",
        }.get(content.get("type", ""), "")
    return text if len(text) <= limit else text[: limit - 1] + "…"
