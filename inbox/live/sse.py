"""Server-sent events framing (https://html.spec.whatwg.org/#server-sent-events).

Payloads are JSON on a single `data:` line. `json.dumps` escapes CR and LF
inside strings and `ensure_ascii` escapes every other non-ASCII character,
so no user text (a message with "\\n\\nevent: reset") can end a field or
start a forged event.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest

from inbox.live.feed import LiveEvent
from inbox.timefmt import iso


def message(event: str, data: Any, *, id: int | None = None) -> bytes:
    """One SSE message: optional `id:`, `event:`, one `data:` line of JSON."""
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=True, default=str)
    head = f"id: {id}\n" if id is not None else ""
    return f"{head}event: {event}\ndata: {payload}\n\n".encode("ascii")


def comment(text: str) -> bytes:
    """A comment line: ignored by EventSource, keeps proxies from timing out."""
    return f": {text}\n\n".encode("ascii", "replace")


def retry(milliseconds: int) -> bytes:
    return f"retry: {int(milliseconds)}\n\n".encode("ascii")


def event_message(event: LiveEvent) -> bytes:
    """An outbox event, enveloped like a webhook delivery (`id`, `event`, `timestamp`, `data`)."""
    return message(
        event.type,
        {
            "id": event.public_id,
            "event": event.type,
            "timestamp": iso(event.created_at),
            "conversationId": event.conversation_public_id or None,
            "data": event.data,
        },
        id=event.id,
    )


def requested_cursor(request: HttpRequest) -> int | None:
    """Where the client wants to resume: `Last-Event-ID` (a reconnect), else `?after=`.

    EventSource sends Last-Event-ID on its own reconnects; `after` is for a
    first connect (or live.js's own reconnect with a new EventSource).
    Anything that is not a non-negative integer means "from now".
    """
    for raw in (request.headers.get("Last-Event-ID"), request.GET.get("after")):
        if raw is None:
            continue
        raw = raw.strip()
        if raw.isascii() and raw.isdigit() and len(raw) <= 19:
            return int(raw)
    return None
