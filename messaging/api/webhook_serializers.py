"""Webhooks API: request bodies (validated before any service runs) and the resources rendered.

Shape checks live here; the rules (URL guard, known event names, header
names, ranges) are the services' own, so the admin and the API agree.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers

from inbox.timefmt import iso
from messaging.api.serializers import StrictSerializer
from messaging.models import WebhookDelivery, WebhookEndpoint


class WebhookConfigSerializer(StrictSerializer):
    maxRetries = serializers.IntegerField(
        required=False, min_value=0, max_value=10, help_text="Automatic retries, 0-10 (4)."
    )
    timeout = serializers.IntegerField(
        required=False, min_value=1, max_value=30, help_text="Seconds per attempt, 1-30."
    )


class CreateWebhookSerializer(StrictSerializer):
    url = serializers.CharField(max_length=2000, help_text="https URL (http outside production).")
    events = serializers.ListField(
        child=serializers.CharField(max_length=64),
        max_length=100,
        help_text='Event names, or ["*"] for every event.',
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=500)
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=1000, trim_whitespace=False),
        required=False,
        help_text="Extra headers sent with every delivery.",
    )
    config = WebhookConfigSerializer(required=False)


class UpdateWebhookSerializer(StrictSerializer):
    url = serializers.CharField(required=False, max_length=2000)
    events = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=100
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=500)
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=1000, trim_whitespace=False),
        required=False,
    )
    config = WebhookConfigSerializer(required=False)
    status = serializers.ChoiceField(required=False, choices=WebhookEndpoint.Status.values)
    rotateSecret = serializers.BooleanField(
        required=False, default=False, help_text="Issue a new secret, shown once in the answer."
    )


class WebhookTestRequestSerializer(StrictSerializer):
    event = serializers.CharField(
        required=False, default="test.ping", max_length=64, help_text="Defaults to test.ping."
    )


# --- Resources -------------------------------------------------------------------------


def success_rate(succeeded: int, failed: int) -> float | None:
    """Succeeded over finished deliveries (0..1); None until one has finished.

    Pending deliveries are still being tried, so they count neither way.
    """
    finished = succeeded + failed
    return round(succeeded / finished, 4) if finished else None


def last_delivery_data(delivery: WebhookDelivery | None) -> dict[str, Any] | None:
    if delivery is None:
        return None
    return {
        "id": delivery.public_id,
        "event": delivery.event,
        "status": delivery.status,
        "statusCode": delivery.response_status_code,
        "at": iso(delivery.last_attempt_at or delivery.created_at),
    }


def webhook_resource(webhook: WebhookEndpoint, *, secret: bool = False) -> dict[str, Any]:
    """The endpoint as the API renders it; `secret` only in the answer that issued it.

    Expects `attach_webhook_stats` to have run on the endpoint.
    """
    counts = webhook.delivery_counts
    attributes: dict[str, Any] = {
        "url": webhook.url,
        "events": webhook.events,
        "description": webhook.description,
        "headers": webhook.headers,
        "status": webhook.status,
        "config": {"maxRetries": webhook.max_retries, "timeout": webhook.timeout_seconds},
        "stats": {
            "deliveriesTotal": counts["total"],
            "deliveriesSucceeded": counts["succeeded"],
            "deliveriesFailed": counts["failed"],
            "deliveriesPending": counts["total"] - counts["succeeded"] - counts["failed"],
            "successRate": success_rate(counts["succeeded"], counts["failed"]),
        },
        "lastDelivery": last_delivery_data(webhook.last_delivery),
        "createdAt": iso(webhook.created_at),
        "updatedAt": iso(webhook.updated_at),
    }
    if secret:
        attributes["secret"] = webhook.secret
    return {"id": webhook.public_id, "type": "webhook", "attributes": attributes}


def _payload(delivery: WebhookDelivery) -> Any:
    try:
        return json.loads(delivery.request_body)
    except ValueError:
        return None


def delivery_resource(delivery: WebhookDelivery, webhook: WebhookEndpoint) -> dict[str, Any]:
    payload = _payload(delivery)
    return {
        "id": delivery.public_id,
        "type": "webhookDelivery",
        "attributes": {
            "webhookId": webhook.public_id,
            "eventId": payload.get("id") if isinstance(payload, dict) else None,
            "event": delivery.event,
            "status": delivery.status,
            "isTest": delivery.is_test,
            "attempts": delivery.attempts,
            "nextAttemptAt": iso(delivery.next_attempt_at)
            if delivery.status == WebhookDelivery.Status.PENDING
            else None,
            "requestHeaders": delivery.request_headers,
            "payload": payload,
            "response": {
                "statusCode": delivery.response_status_code,
                "body": delivery.response_body,
            },
            "error": delivery.error or None,
            "durationMs": delivery.duration_ms,
            "createdAt": iso(delivery.created_at),
            "lastAttemptAt": iso(delivery.last_attempt_at),
            "completedAt": iso(delivery.completed_at),
        },
    }


def ping_result_data(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "deliveryId": delivery.public_id,
        "event": delivery.event,
        "status": delivery.status,
        "statusCode": delivery.response_status_code,
        "latency": delivery.duration_ms,
        "error": delivery.error or None,
    }
