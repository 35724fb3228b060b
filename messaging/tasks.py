"""Celery tasks of the conversation domain: thin wrappers around services.

Each task takes ids, calls one service, and owns its retry policy.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from messaging.models import Message
from messaging.services import messages as message_services
from messaging.services.conversations import wake_snoozed_conversations
from messaging.services.media import purge_expired_uploads

logger = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 6


@shared_task(bind=True, max_retries=MAX_DELIVERY_ATTEMPTS, acks_late=True)
def deliver_message_task(self, message_pk: int) -> str:
    result = message_services.deliver_message(message_pk=message_pk)
    if result is None:
        return "skipped"
    if result.ok:
        return "sent"
    if result.retryable:
        if self.request.retries >= self.max_retries:
            message_services.fail_message(
                message_pk=message_pk,
                code=result.error_code or "DELIVERY_FAILED",
                reason=result.error_message or "The provider kept failing; retries exhausted.",
            )
            return "failed"
        # Exponential backoff, or the provider's own hint when it gave one.
        countdown = result.retry_after_seconds or min(30 * 2**self.request.retries, 3600)
        raise self.retry(countdown=countdown)
    return "failed"


@shared_task
def send_due_scheduled_messages() -> int:
    """Queue scheduled messages whose time has come (run by Celery beat)."""
    due = list(
        Message.objects.filter(
            status=Message.Status.PENDING,
            scheduled_at__lte=timezone.now(),
            delivery_claimed_at__isnull=True,
        ).values_list("pk", flat=True)[:500]
    )
    for pk in due:
        deliver_message_task.delay(pk)
    return len(due)


@shared_task
def wake_snoozed_conversations_task() -> int:
    return wake_snoozed_conversations()


@shared_task
def purge_expired_uploads_task() -> int:
    return purge_expired_uploads()


@shared_task
def purge_idempotency_records_task() -> int:
    from inbox.api.idempotency import purge_expired_records

    return purge_expired_records()


# --- Webhooks to integrations ------------------------------------------------------
# The retry schedule (1 min, 5 min, 30 min, 2 h) and the per-conversation order
# live in `messaging.services.webhooks`, which records each attempt on its row;
# these tasks only carry ids, so a duplicate task finds the claim taken.


@shared_task(acks_late=True)
def dispatch_outbox_task() -> int:
    """Turn undispatched outbox events into webhook deliveries (on commit, and beat every 30 s)."""
    from messaging.services.webhooks import dispatch_outbox

    return dispatch_outbox()


@shared_task(acks_late=True)
def deliver_webhook_task(delivery_pk: int) -> str:
    from messaging.services.webhooks import deliver_webhook

    return deliver_webhook(delivery_pk=delivery_pk)


@shared_task
def queue_due_webhook_deliveries_task() -> int:
    """Beat's safety net for deliveries whose task was lost or whose worker died."""
    from messaging.services.webhooks import queue_due_webhook_deliveries

    return queue_due_webhook_deliveries()
