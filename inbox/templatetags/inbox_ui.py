"""Filters the inbox templates use: relative times, initials, message previews.

All of them return plain strings; the template engine escapes them like any
other value, so user content stays escaped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from inbox.timefmt import iso as iso_time
from messaging.content import content_preview
from messaging.models import Message

register = template.Library()


@register.filter
def iso(value: datetime | None) -> str:
    """ISO 8601 in UTC for `<time datetime>`."""
    return iso_time(value) or ""


@register.filter
def ago(value: datetime | None, now: datetime | None = None) -> str:
    """Short relative time: `now`, `5 min`, `3 h`, `2 d`, then the date.

    inbox.js rewrites the same text every minute with the same rules.
    """
    if value is None:
        return ""
    now = now or timezone.now()
    seconds = max((now - value).total_seconds(), 0)
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} d"
    local = timezone.localtime(value)
    if now - value < timedelta(days=365):
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b} {local.year}"


@register.filter
def initials(name: str | None) -> str:
    """Up to two letters for an avatar: `Ana Souza` -> `AS`, `sam@x.test` -> `S`."""
    words = [w for w in (name or "").replace("@", " ").replace(".", " ").split() if w]
    if not words:
        return "?"
    letters = words[0][0] + (words[1][0] if len(words) > 1 and "@" not in (name or "") else "")
    return letters.upper()


@register.filter
def preview(message: Message | None) -> str:
    """One line for the list: the text, or the kind of content when there is none."""
    if message is None:
        return ""
    if message.deleted_at is not None:
        return "Message deleted"
    return content_preview(message.content or {}, limit=120)
