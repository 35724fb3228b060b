"""The inbound webhook endpoint every channel shares: /webhooks/channels/<token>/.

The unguessable token in the URL says which channel an event is for; the
provider's own signature says it came from the provider. In that order:

1. find the channel by token (unknown: 404);
2. GET is the provider's subscription handshake (Meta's `hub.challenge`);
3. verify the signature: a bad one is 401 and nothing is recorded;
4. parse into neutral events and apply them through the services, which
   dedupe on the provider's message id, so a retried webhook changes nothing;
5. answer at once: files are fetched by a task, not in the request.

A failure while applying answers 500, so the provider retries the delivery.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from channels_app.models import Channel
from channels_app.providers.base import (
    InboundEvent,
    InboundRequest,
    InvalidPayload,
    WebhookReply,
)
from channels_app.providers.registry import inbound_provider_for
from inbox.api.envelope import error_body
from messaging.services.inbound import apply_inbound_events

logger = logging.getLogger(__name__)


def _error(request: HttpRequest, status: int, code: str, message: str) -> JsonResponse:
    body = error_body(getattr(request, "request_id", "-"), code, message)
    return JsonResponse(body, status=status)


def _reply(reply: WebhookReply) -> HttpResponse:
    return HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)


def _read_body(request: HttpRequest) -> bytes | None:
    """The body, or None when it is over INBOUND_WEBHOOK_MAX_BYTES.

    Read from the stream rather than `request.body`, whose limit
    (DATA_UPLOAD_MAX_MEMORY_SIZE) suits API requests, not a raw email with files.
    """
    limit = settings.INBOUND_WEBHOOK_MAX_BYTES
    length = request.META.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > limit:
        return None
    data = request.read(limit + 1)
    return None if len(data) > limit else data


def inbound_request(request: HttpRequest, body: bytes) -> InboundRequest:
    # The URL the provider was given (and signs, for Twilio) is built on
    # SITE_URL, whatever host or scheme a proxy in front of us passed on.
    return InboundRequest(
        method=request.method or "GET",
        url=f"{settings.SITE_URL}{request.get_full_path()}",
        headers={key.lower(): value for key, value in request.headers.items()},
        body=body,
        query={key: request.GET.get(key, "") for key in request.GET},
    )


@csrf_exempt
def channel_webhook(request: HttpRequest, token: str) -> HttpResponse:
    channel = Channel.objects.select_related("workspace").filter(inbound_token=token).first()
    if channel is None:
        return _error(request, 404, "CHANNEL_NOT_FOUND", "No channel has this webhook URL.")
    provider = inbound_provider_for(channel.type, channel.config)
    if provider is None or not hasattr(provider, "verify") or not hasattr(provider, "parse"):
        return _error(request, 404, "CHANNEL_NOT_FOUND", "This channel does not receive webhooks.")
    if request.method not in ("GET", "POST"):
        response = _error(request, 405, "METHOD_NOT_ALLOWED", "Use POST (or GET to verify).")
        response["Allow"] = "GET, POST"
        return response
    config: dict[str, Any] = channel.config
    if request.method == "GET":
        handshake = getattr(provider, "handshake", None)
        reply = handshake(inbound_request(request, b""), config) if handshake else None
        if reply is None:
            return _error(request, 403, "VERIFICATION_FAILED", "The handshake did not match.")
        return _reply(reply)

    body = _read_body(request)
    if body is None:
        return _error(request, 413, "PAYLOAD_TOO_LARGE", "The body is too large.")
    inbound = inbound_request(request, body)
    if not provider.verify(inbound, config):
        logger.warning("channel %s: webhook with a bad signature refused", channel.public_id)
        return _error(request, 401, "INVALID_SIGNATURE", "The request signature does not match.")
    if channel.status == Channel.Status.INACTIVE:
        # Deactivated on purpose: acknowledged so the provider stops retrying.
        logger.info("channel %s is inactive; webhook acknowledged, not applied", channel.public_id)
        return _acknowledge(provider, [])
    try:
        events = provider.parse(inbound, config)
    except InvalidPayload as exc:
        return _error(request, 400, "INVALID_PAYLOAD", str(exc) or "The body cannot be read.")
    try:
        summary = apply_inbound_events(channel=channel, events=events)
    except Exception:
        logger.exception("channel %s: applying a webhook failed", channel.public_id)
        return _error(
            request, 500, "INTERNAL_ERROR", "Something went wrong on our side; retry later."
        )
    logger.info(
        "channel %s webhook: %d received, %d duplicate, %d status, %d reaction, %d ignored",
        channel.public_id,
        summary.received,
        summary.duplicates,
        summary.statuses,
        summary.reactions,
        summary.ignored,
    )
    return _acknowledge(provider, events)


def _acknowledge(provider: Any, events: list[InboundEvent]) -> HttpResponse:
    """The provider's own success reply for these events, else `{"received": true}`."""
    acknowledge = getattr(provider, "acknowledge", None)
    reply = acknowledge(events) if acknowledge is not None else None
    if reply is not None:
        return _reply(reply)
    return JsonResponse({"received": True})
