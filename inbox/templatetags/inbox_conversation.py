"""Filters and tags of the conversation page: message times, senders, safe links, content parts.

Every one returns plain values (strings, numbers, lists of dicts); the
template engine escapes them like any other value, so message text, file
names and metadata stay escaped. URLs taken from message content pass
`safe_url`, which only lets http(s) and same-site paths through, so a
`javascript:` URL from a provider can never become a link.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from django import template
from django.utils import timezone

from channels_app.models import Channel
from inbox.api.pagination import encode_cursor
from messaging.models import Contact, Message

register = template.Library()

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@register.filter
def msg_time(value: datetime | None, now: datetime | None = None) -> str:
    """`14:05` today, `3 Jan 14:05` this year, else `3 Jan 2024 14:05` (server time zone).

    conversation.js rewrites it in the browser's own time zone.
    """
    if value is None:
        return ""
    local = timezone.localtime(value)
    today = timezone.localtime(now or timezone.now())
    clock = f"{local:%H:%M}"
    if local.date() == today.date():
        return clock
    day = f"{local.day} {_MONTHS[local.month - 1]}"
    if local.year == today.year:
        return f"{day} {clock}"
    return f"{day} {local.year} {clock}"


@register.filter
def safe_url(value: Any) -> str:
    """The URL when it is http(s) or a path on this site, else an empty string."""
    if not isinstance(value, str) or not value or len(value) > 4000:
        return ""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc:
        return value
    return ""


@register.filter
def map_url(content: dict[str, Any]) -> str:
    """An OpenStreetMap link to a location's coordinates, or '' without valid ones."""
    lat, lon = content.get("latitude"), content.get("longitude")
    if isinstance(lat, bool) or isinstance(lon, bool):
        return ""
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return ""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return ""
    query = urlencode({"mlat": f"{lat:.6f}", "mlon": f"{lon:.6f}"})
    return f"https://www.openstreetmap.org/?{query}#map=16/{lat:.6f}/{lon:.6f}"


@register.filter
def thread_cursor(message: Message) -> str:
    """The thread's keyset cursor at this message (the same format as the API's)."""
    return encode_cursor(message.created_at, message.pk)


@register.filter
def is_image(attachment: Any) -> bool:
    return str(getattr(attachment, "mime_type", "") or "").startswith("image/")


@register.filter
def reaction_summary(message: Message) -> list[dict[str, Any]]:
    """Live reactions grouped by emoji, first seen first: [{emoji, count, mine}].

    Reads the prefetched `reactions`, so it runs no query.
    """
    groups: dict[str, dict[str, Any]] = {}
    for reaction in message.reactions.all():
        if reaction.removed_at is not None:
            continue
        group = groups.setdefault(reaction.emoji, {"emoji": reaction.emoji, "count": 0})
        group["count"] += 1
        if reaction.actor_type == "agent":
            group["mine"] = True
    return list(groups.values())


@register.filter
def template_parts(content: dict[str, Any]) -> list[dict[str, Any]]:
    """A template message's components as [{type, texts}], text parameters only."""
    tpl = content.get("template")
    if not isinstance(tpl, dict):
        return []
    parts = []
    for component in tpl.get("components") or []:
        if not isinstance(component, dict):
            continue
        texts = []
        for param in component.get("parameters") or []:
            if not isinstance(param, dict):
                continue
            kind = param.get("type")
            if kind == "text" and isinstance(param.get("text"), str):
                texts.append(param["text"])
            elif kind in ("image", "document", "video"):
                texts.append(f"[{kind}]")
            elif kind == "currency" and isinstance(param.get("currency"), dict):
                texts.append(str(param["currency"].get("fallback_value") or "[amount]"))
            elif kind == "date_time" and isinstance(param.get("date_time"), dict):
                texts.append(str(param["date_time"].get("fallback_value") or "[date]"))
            elif kind == "payload":
                texts.append(str(param.get("payload") or ""))
        parts.append({"type": str(component.get("type") or ""), "texts": texts})
    return parts


@register.filter
def media_errors(message: Message) -> list[str]:
    """Why files of this message could not be fetched or kept (`metadata.mediaErrors`)."""
    errors = (message.metadata or {}).get("mediaErrors") or []
    if not isinstance(errors, list):
        return []
    return [str(e) for e in errors]


@register.filter
def metadata_value(value: Any) -> str:
    """A metadata value for display: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@register.filter
def channel_type_label(value: str) -> str:
    try:
        return str(Channel.Type(value).label)
    except ValueError:
        return value


@register.simple_tag
def sender_label(message: Message, contact: Contact) -> str:
    """Who wrote a message: the contact, the agent, or the API / a bot / the system."""
    if message.direction == Message.Direction.INBOUND:
        return contact.display_name
    if message.sender_type == Message.Sender.SYSTEM:
        return "System"
    if message.sender_type == Message.Sender.BOT:
        return "Bot"
    if message.sender_user_id and message.sender_user is not None:
        return message.sender_user.name
    return "API"
