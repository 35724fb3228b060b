"""The generic API channel: the integrator's endpoint plays the provider, both ways.

Outbound, every message is POSTed as signed JSON to the channel's
`callbackUrl` (SSRF guard, pinned transport, no redirects; see `callback.py`):

    POST <callbackUrl>
    Content-Type: application/json
    X-Inbox-Event: message.send
    X-Inbox-Timestamp: <unix seconds>
    X-Inbox-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}" with callbackSecret>
    Idempotency-Key: <our message id>

    {"event": "message.send", "id": "msg_...", "channelId": "ch_...", "to": "...",
     "content": {...}, "metadata": {...}, "replyToExternalId": null,
     "timestamp": "2025-01-01T12:00:00.000Z"}

The Idempotency-Key is the same on every attempt at one message (retries
and the stuck-delivery sweep included), so an integrator that dedupes on it
never delivers a message twice. A 2xx answer may carry `{"id": "<their
id>"}`, which becomes the message's provider id (status callbacks and
reactions name it); without one our message id is used. 408, 425, 429 (with
its Retry-After), 5xx, timeouts and refused connections are retried with
backoff; any other answer fails the message with `CALLBACK_<status>` and the
answer's `error.message` (or body) as the reason. A callback URL the SSRF
guard refuses fails it at once with `CALLBACK_URL_REFUSED`.

Edits, deletes-for-everyone and agents' reactions go the same way with the
events `message.edit`, `message.delete` and `message.react`.

Inbound (`inbound.py`): the integrator POSTs messages, statuses and reactions
to the channel's webhook URL, signed the same way with the same secret.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from channels_app.providers.api import inbound
from channels_app.providers.api.callback import (
    ApiCallbackProvider,
    RefusedUrl,
    answer_to_result,
    post_event,
)
from channels_app.providers.base import (
    InboundEvent,
    InboundRequest,
    MessageChange,
    Outbound,
    OutboundReaction,
    SendResult,
)
from inbox.timefmt import iso

SEND_EVENT = "message.send"
EDIT_EVENT = "message.edit"
DELETE_EVENT = "message.delete"
REACT_EVENT = "message.react"


def _now() -> str:
    return iso(timezone.now()) or ""


def _post(
    config: dict[str, Any],
    event: str,
    fields: dict[str, Any],
    fallback_id: str,
    headers: dict[str, str] | None = None,
) -> SendResult:
    """POST `{"event": event, **fields, "timestamp": now}`; the answer as a SendResult."""
    payload = {"event": event, **fields, "timestamp": _now()}
    try:
        result = post_event(config, event, payload, extra_headers=headers)
    except RefusedUrl as exc:
        # Retrying cannot help until someone fixes the channel's callback URL.
        return SendResult.failed("CALLBACK_URL_REFUSED", str(exc))
    return answer_to_result(result, fallback_id)


def _post_change(change: MessageChange, event: str, **fields: Any) -> SendResult:
    """An edit or delete: the message named by our id and the integrator's, then `fields`."""
    ids = {"id": change.message_id, "externalId": change.external_id, "to": change.to}
    return _post(change.config, event, {**ids, **fields}, fallback_id=change.external_id)


class ApiChannelProvider(ApiCallbackProvider):
    """Sends to `callbackUrl`, receives on the webhook URL; `check` pings the callback."""

    channel_type = "api"

    def send(self, outbound: Outbound) -> SendResult:
        fields = {
            "id": outbound.message_id,
            "channelId": outbound.channel_id,
            "to": outbound.to,
            "content": outbound.content,
            "metadata": outbound.metadata,
            "replyToExternalId": outbound.reply_to_external_id,
        }
        key = outbound.idempotency_key or outbound.message_id
        return _post(
            outbound.config,
            SEND_EVENT,
            fields,
            fallback_id=outbound.message_id,
            headers={"Idempotency-Key": key},
        )

    def edit(self, change: MessageChange) -> SendResult:
        return _post_change(change, EDIT_EVENT, content=change.content)

    def delete(self, change: MessageChange) -> SendResult:
        return _post_change(change, DELETE_EVENT)

    def react(self, reaction: OutboundReaction) -> SendResult:
        fields = {
            "externalId": reaction.external_id,
            "to": reaction.to,
            "emoji": reaction.emoji,
            "operation": reaction.operation,
        }
        return _post(reaction.config, REACT_EVENT, fields, fallback_id=reaction.external_id)

    def verify(self, request: InboundRequest, config: dict[str, Any]) -> bool:
        return inbound.verify(request, config)

    def parse(self, request: InboundRequest, config: dict[str, Any]) -> list[InboundEvent]:
        return inbound.parse(request, config)


PROVIDER = ApiChannelProvider
