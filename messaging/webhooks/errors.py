"""Errors of the webhooks resource, each with the API code it maps to."""

from __future__ import annotations

from inbox.errors import Conflict, NotFound, ValidationFailed


class WebhookNotFound(NotFound):
    code = "WEBHOOK_NOT_FOUND"
    default_message = "Webhook does not exist."


class DeliveryNotFound(NotFound):
    code = "DELIVERY_NOT_FOUND"
    default_message = "Delivery does not exist."


class InvalidEvents(ValidationFailed):
    code = "INVALID_EVENTS"
    default_message = "Unknown event names."


class DeliveryInProgress(Conflict):
    code = "DELIVERY_IN_PROGRESS"
    default_message = "This delivery is being sent right now; try again in a moment."


class InvalidWebhookUrl(ValidationFailed):
    code = "INVALID_URL"
    default_message = "The webhook URL is not allowed."

    def __init__(self, message: str) -> None:
        super().__init__(message, field="url")
