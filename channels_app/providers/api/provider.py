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
    payload: dict[str, Any],
    fallback_id: str,
    headers: dict[str, str] | None = None,
) -> SendResult:
    try:
        result = post_event(config, event, payload, extra_headers=headers)
    except RefusedUrl as exc:
        # Retrying cannot help until someone fixes the channel's callback URL.
        return SendResult.failed("CALLBACK_URL_REFUSED", str(exc))
    return answer_to_result(result, fallback_id)


class ApiChannelProvider(ApiCallbackProvider):
    """Sends to `callbackUrl`, receives on the webhook URL; `check` pings the callback."""

    channel_type = "api"

    def send(self, outbound: Outbound) -> SendResult:
        payload = {
            "event": SEND_EVENT,
            "id": outbound.message_id,
            "channelId": outbound.channel_id,
            "to": outbound.to,
            "content": outbound.content,
            "metadata": outbound.metadata,
            "replyToExternalId": outbound.reply_to_external_id,
            "timestamp": _now(),
        }
        key = outbound.idempotency_key or outbound.message_id
        return _post(
            outbound.config,
            SEND_EVENT,
            payload,
            fallback_id=outbound.message_id,
            headers={"Idempotency-Key": key},
        )

    def edit(self, change: MessageChange) -> SendResult:
        payload = {
            "event": EDIT_EVENT,
            "id": change.message_id,
            "externalId": change.external_id,
            "to": change.to,
            "content": change.content,
            "timestamp": _now(),
        }
        return _post(change.config, EDIT_EVENT, payload, fallback_id=change.external_id)

    def delete(self, change: MessageChange) -> SendResult:
        payload = {
            "event": DELETE_EVENT,
            "id": change.message_id,
            "externalId": change.external_id,
            "to": change.to,
            "timestamp": _now(),
        }
        return _post(change.config, DELETE_EVENT, payload, fallback_id=change.external_id)

    def react(self, reaction: OutboundReaction) -> SendResult:
        payload = {
            "event": REACT_EVENT,
            "externalId": reaction.external_id,
            "to": reaction.to,
            "emoji": reaction.emoji,
            "operation": reaction.operation,
            "timestamp": _now(),
        }
        return _post(reaction.config, REACT_EVENT, payload, fallback_id=reaction.external_id)

    def verify(self, request: InboundRequest, config: dict[str, Any]) -> bool:
        return inbound.verify(request, config)

    def parse(self, request: InboundRequest, config: dict[str, Any]) -> list[InboundEvent]:
        return inbound.parse(request, config)


PROVIDER = ApiChannelProvider
