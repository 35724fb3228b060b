"""OpenAPI description of the Webhooks API (drf-spectacular).

Built with the Messages API's helpers (`inline`, `_errors`, the meta and
pagination components), so shared shapes are one component each. Every
component here is prefixed `Webhook`.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers

from messaging.api.schema import _errors, _meta, _pagination, inline
from messaging.api.webhook_serializers import (
    CreateWebhookSerializer,
    UpdateWebhookSerializer,
    WebhookTestRequestSerializer,
)
from messaging.events import EVENT_TYPES

TAG = "Webhooks"
DELIVERY_STATUSES = ["pending", "succeeded", "failed"]
# drf-spectacular turns every enum into a component named after its field
# (`status`); a choice set that appears in two components gets a hashed name
# and a warning, so each set is an enum in one component and described in
# words elsewhere.
_ONE_OF_DELIVERY = "pending, succeeded or failed"


def _list_meta() -> serializers.Serializer:
    # The same component the Messages API's lists use.
    return inline("ListMeta", {"requestId": serializers.CharField(), "pagination": _pagination()})


def _last_delivery() -> serializers.Serializer:
    return inline(
        "WebhookLastDelivery",
        {
            "id": serializers.CharField(),
            "event": serializers.CharField(),
            "status": serializers.CharField(help_text=_ONE_OF_DELIVERY),
            "statusCode": serializers.IntegerField(allow_null=True),
            "at": serializers.DateTimeField(),
        },
    )


def WEBHOOK() -> serializers.Serializer:
    return inline(
        "Webhook",
        {
            "id": serializers.CharField(help_text="wh_..."),
            "type": serializers.CharField(default="webhook"),
            "attributes": inline(
                "WebhookAttributes",
                {
                    "url": serializers.URLField(),
                    "events": serializers.ListField(child=serializers.CharField()),
                    "description": serializers.CharField(),
                    "headers": serializers.DictField(child=serializers.CharField()),
                    "status": serializers.CharField(help_text="active or inactive"),
                    "config": inline(
                        "WebhookConfig",
                        {
                            "maxRetries": serializers.IntegerField(),
                            "timeout": serializers.IntegerField(help_text="seconds"),
                        },
                    ),
                    "stats": inline(
                        "WebhookStats",
                        {
                            "deliveriesTotal": serializers.IntegerField(),
                            "deliveriesSucceeded": serializers.IntegerField(),
                            "deliveriesFailed": serializers.IntegerField(),
                            "deliveriesPending": serializers.IntegerField(),
                            "successRate": serializers.FloatField(
                                allow_null=True,
                                help_text="succeeded / (succeeded + failed), 0..1; null "
                                "until a delivery has finished.",
                            ),
                        },
                    ),
                    "lastDelivery": _last_delivery(),
                    "createdAt": serializers.DateTimeField(),
                    "updatedAt": serializers.DateTimeField(),
                    "secret": serializers.CharField(
                        required=False,
                        help_text="whsec_...; only in the answer that creates or rotates it.",
                    ),
                },
            ),
        },
    )


def DELIVERY() -> serializers.Serializer:
    return inline(
        "WebhookDelivery",
        {
            "id": serializers.CharField(help_text="del_...; the X-Inbox-Delivery-Id header."),
            "type": serializers.CharField(default="webhookDelivery"),
            "attributes": inline(
                "WebhookDeliveryAttributes",
                {
                    "webhookId": serializers.CharField(),
                    "eventId": serializers.CharField(allow_null=True),
                    "event": serializers.CharField(),
                    "status": serializers.ChoiceField(choices=DELIVERY_STATUSES),
                    "isTest": serializers.BooleanField(),
                    "attempts": serializers.IntegerField(),
                    "nextAttemptAt": serializers.DateTimeField(allow_null=True),
                    "requestHeaders": serializers.DictField(child=serializers.CharField()),
                    "payload": serializers.JSONField(),
                    "response": inline(
                        "WebhookDeliveryResponse",
                        {
                            "statusCode": serializers.IntegerField(allow_null=True),
                            "body": serializers.CharField(help_text="First 2 KB."),
                        },
                    ),
                    "error": serializers.CharField(allow_null=True),
                    "durationMs": serializers.IntegerField(allow_null=True),
                    "createdAt": serializers.DateTimeField(),
                    "lastAttemptAt": serializers.DateTimeField(allow_null=True),
                    "completedAt": serializers.DateTimeField(allow_null=True),
                },
            ),
        },
    )


def _single(name: str, data: serializers.Serializer) -> serializers.Serializer:
    return inline(name, {"data": data, "meta": _meta()})


def _collection(name: str, item: serializers.Serializer) -> serializers.Serializer:
    return inline(name, {"data": serializers.ListField(child=item), "meta": _list_meta()})


WEBHOOK_RESPONSE = _single("WebhookResponse", WEBHOOK())
WEBHOOK_LIST_RESPONSE = _collection("WebhookListResponse", WEBHOOK())
DELIVERY_RESPONSE = _single("WebhookDeliveryItemResponse", DELIVERY())
DELIVERY_LIST_RESPONSE = _collection("WebhookDeliveryListResponse", DELIVERY())
TEST_RESPONSE = _single(
    "WebhookTestResponse",
    inline(
        "WebhookTestResult",
        {
            "deliveryId": serializers.CharField(),
            "event": serializers.CharField(),
            "status": serializers.ChoiceField(choices=["succeeded", "failed"]),
            "statusCode": serializers.IntegerField(allow_null=True),
            "latency": serializers.IntegerField(allow_null=True, help_text="milliseconds"),
            "error": serializers.CharField(allow_null=True),
        },
    ),
)

_ID = OpenApiParameter("webhook_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="wh_...")
_DELIVERY_ID = OpenApiParameter(
    "delivery_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="del_..."
)
_IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Replays within 24 h return the original answer.",
)
_PAGE = [
    OpenApiParameter("page", OpenApiTypes.INT, OpenApiParameter.QUERY, default=1),
    OpenApiParameter(
        "perPage", OpenApiTypes.INT, OpenApiParameter.QUERY, default=20, description="1-100"
    ),
]
_WRITE_403 = (403, "INSUFFICIENT_PERMISSIONS (also agents' access tokens)")

list_webhooks = extend_schema(
    tags=[TAG],
    summary="List webhooks, with delivery stats",
    operation_id="listWebhooks",
    parameters=_PAGE,
    responses={200: WEBHOOK_LIST_RESPONSE, **_errors((400, "VALIDATION_ERROR"))},
)
create_webhook = extend_schema(
    tags=[TAG],
    summary="Create a webhook (the secret is shown once)",
    operation_id="createWebhook",
    parameters=[_IDEMPOTENCY],
    request=CreateWebhookSerializer,
    responses={
        201: WEBHOOK_RESPONSE,
        **_errors((400, "VALIDATION_ERROR, INVALID_URL, INVALID_EVENTS"), _WRITE_403),
    },
    examples=[
        OpenApiExample(
            "Messages to a CRM",
            request_only=True,
            value={
                "url": "https://crm.example.com/hooks/inbox",
                "events": ["message.received", "conversation.closed"],
                "description": "CRM sync",
                "headers": {"Authorization": "Bearer crm-token"},
                "config": {"maxRetries": 4, "timeout": 10},
            },
        )
    ],
)
get_webhook = extend_schema(
    tags=[TAG],
    summary="Get a webhook",
    operation_id="getWebhook",
    parameters=[_ID],
    responses={200: WEBHOOK_RESPONSE, **_errors((404, "WEBHOOK_NOT_FOUND"))},
)
update_webhook = extend_schema(
    tags=[TAG],
    summary="Update a webhook",
    operation_id="updateWebhook",
    parameters=[_ID],
    request=UpdateWebhookSerializer,
    responses={
        200: WEBHOOK_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR, INVALID_URL, INVALID_EVENTS"),
            (404, "WEBHOOK_NOT_FOUND"),
            _WRITE_403,
        ),
    },
)
delete_webhook = extend_schema(
    tags=[TAG],
    summary="Delete a webhook and its delivery log",
    operation_id="deleteWebhook",
    parameters=[_ID],
    responses={204: None, **_errors((404, "WEBHOOK_NOT_FOUND"), _WRITE_403)},
)
test_webhook = extend_schema(
    tags=[TAG],
    summary="Send a test event now",
    description="Sends `test.ping` (or the `event` given) synchronously and reports the answer.",
    operation_id="testWebhook",
    parameters=[_ID, _IDEMPOTENCY],
    request=WebhookTestRequestSerializer,
    responses={
        200: TEST_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR, INVALID_EVENTS"), (404, "WEBHOOK_NOT_FOUND"), _WRITE_403
        ),
    },
)
list_deliveries = extend_schema(
    tags=[TAG],
    summary="A webhook's delivery log",
    operation_id="listWebhookDeliveries",
    parameters=[
        _ID,
        *_PAGE,
        OpenApiParameter(
            "status", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=DELIVERY_STATUSES
        ),
        OpenApiParameter("event", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=list(EVENT_TYPES)),
    ],
    responses={
        200: DELIVERY_LIST_RESPONSE,
        **_errors((400, "VALIDATION_ERROR"), (404, "WEBHOOK_NOT_FOUND")),
    },
)
retry_delivery = extend_schema(
    tags=[TAG],
    summary="Send a delivery again now",
    operation_id="retryWebhookDelivery",
    parameters=[_ID, _DELIVERY_ID, _IDEMPOTENCY],
    request=None,
    responses={
        200: DELIVERY_RESPONSE,
        **_errors(
            (404, "WEBHOOK_NOT_FOUND, DELIVERY_NOT_FOUND"),
            (409, "DELIVERY_IN_PROGRESS"),
            _WRITE_403,
        ),
    },
)
