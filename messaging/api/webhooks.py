"""Webhooks API views: `/webhooks`, its deliveries, test sends and manual retries.

Every lookup by id goes through `get_webhook_for(workspace, id)` (and the
delivery through its webhook), so other workspaces' ids answer 404 exactly
like unknown ones. The signing secret is rendered only by POST /webhooks and
by a PATCH that rotates it.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from inbox.api import envelope
from inbox.api.pagination import paginate
from inbox.api.views import ApiView
from inbox.errors import ValidationFailed
from messaging.api import webhook_schema as schema
from messaging.api.webhook_serializers import (
    CreateWebhookSerializer,
    UpdateWebhookSerializer,
    WebhookTestRequestSerializer,
    delivery_resource,
    ping_result_data,
    webhook_resource,
)
from messaging.events import EVENT_TYPES
from messaging.models import WebhookDelivery
from messaging.selectors import (
    attach_webhook_stats,
    get_webhook_delivery_for,
    get_webhook_for,
    webhook_deliveries_for,
    webhooks_for,
)
from messaging.services.webhooks import (
    create_webhook,
    delete_webhook,
    retry_webhook_delivery,
    send_test_webhook,
    update_webhook,
)

READ = "webhooks:read"
WRITE = "webhooks:write"
# PATCH fields -> `update_webhook` keywords.
UPDATE_FIELDS = {f: f for f in ("url", "events", "description", "headers", "status")}
CONFIG_FIELDS = {"maxRetries": "max_retries", "timeout": "timeout_seconds"}


def _validated(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class WebhookApiView(ApiView):
    """Reads need `webhooks:read`, writes `webhooks:write`, and agents' tokens cannot write.

    Webhooks send the workspace's data to outside systems, so configuring them
    is an admin's (or an API key's) decision, not an agent's.
    """

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        if request.method not in ("GET", "HEAD", "OPTIONS") and self.principal.role == "agent":
            raise PermissionDenied("Agents cannot change webhooks; ask a workspace admin.")

    def _webhook(self, webhook_id: str) -> Any:
        return get_webhook_for(self.workspace, webhook_id)

    def _render(self, webhook: Any, **kwargs: Any) -> dict[str, Any]:
        attach_webhook_stats([webhook])
        return webhook_resource(webhook, **kwargs)


class WebhookListView(WebhookApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @schema.list_webhooks
    def get(self, request: Request) -> Response:
        page = paginate(webhooks_for(self.workspace), request.query_params)
        webhooks = attach_webhook_stats(page.items)
        return envelope.collection(request, [webhook_resource(w) for w in webhooks], **page.meta())

    @schema.create_webhook
    def post(self, request: Request) -> Response:
        data = _validated(CreateWebhookSerializer, request.data)
        config = data.get("config") or {}
        webhook = create_webhook(
            workspace=self.workspace,
            url=data["url"],
            events=data["events"],
            description=data.get("description", ""),
            headers=data.get("headers"),
            max_retries=config.get("maxRetries", 4),
            timeout_seconds=config.get("timeout"),
        )
        return envelope.single(request, self._render(webhook, secret=True), status=201)


class WebhookDetailView(WebhookApiView):
    required_scopes = {"GET": READ, "PATCH": WRITE, "DELETE": WRITE}

    @schema.get_webhook
    def get(self, request: Request, webhook_id: str) -> Response:
        return envelope.single(request, self._render(self._webhook(webhook_id)))

    @schema.update_webhook
    def patch(self, request: Request, webhook_id: str) -> Response:
        data = _validated(UpdateWebhookSerializer, request.data)
        webhook = self._webhook(webhook_id)
        changes = {UPDATE_FIELDS[k]: v for k, v in data.items() if k in UPDATE_FIELDS}
        for key, value in (data.get("config") or {}).items():
            changes[CONFIG_FIELDS[key]] = value
        rotate = data.get("rotateSecret", False)
        webhook = update_webhook(webhook=webhook, rotate_secret=rotate, **changes)
        return envelope.single(request, self._render(webhook, secret=rotate))

    @schema.delete_webhook
    def delete(self, request: Request, webhook_id: str) -> Response:
        delete_webhook(webhook=self._webhook(webhook_id))
        return Response(status=204)


class WebhookTestView(WebhookApiView):
    required_scopes = {"POST": WRITE}

    @schema.test_webhook
    def post(self, request: Request, webhook_id: str) -> Response:
        data = _validated(WebhookTestRequestSerializer, request.data or {})
        webhook = self._webhook(webhook_id)
        delivery = send_test_webhook(webhook=webhook, event=data["event"])
        return envelope.single(request, ping_result_data(delivery))


class WebhookDeliveryListView(WebhookApiView):
    required_scopes = {"GET": READ}

    @schema.list_deliveries
    def get(self, request: Request, webhook_id: str) -> Response:
        params = request.query_params
        webhook = self._webhook(webhook_id)
        deliveries = webhook_deliveries_for(webhook)
        status = params.get("status")
        if status:
            if status not in WebhookDelivery.Status.values:
                raise ValidationFailed(
                    "Must be one of: " + ", ".join(WebhookDelivery.Status.values) + ".",
                    field="status",
                )
            deliveries = deliveries.filter(status=status)
        event = params.get("event")
        if event:
            if event not in EVENT_TYPES:
                raise ValidationFailed(f"Unknown event {event}.", field="event")
            deliveries = deliveries.filter(event=event)
        page = paginate(deliveries, params)
        return envelope.collection(
            request, [delivery_resource(d, webhook) for d in page.items], **page.meta()
        )


class WebhookDeliveryRetryView(WebhookApiView):
    required_scopes = {"POST": WRITE}

    @schema.retry_delivery
    def post(self, request: Request, webhook_id: str, delivery_id: str) -> Response:
        webhook = self._webhook(webhook_id)
        delivery = get_webhook_delivery_for(webhook, delivery_id)
        delivery = retry_webhook_delivery(delivery=delivery)
        return envelope.single(request, delivery_resource(delivery, webhook))
