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


@shared_task(bind=True, max_retries=None, acks_late=True)
def deliver_message_task(self, message_pk: int) -> str:
    """Send one message; transient failures come back here after a backoff.

    The attempt count lives on the message (`delivery_attempts`, bumped by
    every claim, the sweep's included), so the limit holds however the
    attempts were queued.
    """
    result = message_services.deliver_message(message_pk=message_pk)
    if result is None:
        return "skipped"
    if result.ok:
        return "sent"
    if not result.retryable:
        return "failed"
    message = Message.objects.only("delivery_attempts", "next_attempt_at", "status").get(
        pk=message_pk
    )
    if message.status != Message.Status.PENDING:
        return message.status
    if message.delivery_attempts >= message_services.MAX_DELIVERY_ATTEMPTS:
        message_services.fail_message(
            message_pk=message_pk,
            code=result.error_code or "DELIVERY_FAILED",
            reason=result.error_message or "The provider kept failing; retries exhausted.",
        )
        return "failed"
    # The backoff (or the provider's Retry-After) was recorded on the message.
    countdown = message_services.retry_delay_seconds(
        message.delivery_attempts, result.retry_after_seconds
    )
    raise self.retry(countdown=countdown)


@shared_task
def requeue_stuck_deliveries_task() -> int:
    """Beat's sweep for messages whose worker died mid-send or whose task was lost."""
    return message_services.requeue_stuck_deliveries()


PROVIDER_SYNC_RETRIES = 5


@shared_task(bind=True, max_retries=PROVIDER_SYNC_RETRIES, acks_late=True)
def push_message_change_task(self, message_pk: int, change: str) -> str:
    """Carry an agent's edit or delete-for-everyone to the provider."""
    result = message_services.push_message_change(message_pk=message_pk, change=change)
    if result is None:
        return "unsupported"
    if result.ok:
        return "done"
    if result.retryable and self.request.retries < PROVIDER_SYNC_RETRIES:
        raise self.retry(
            countdown=message_services.retry_delay_seconds(
                self.request.retries + 1, result.retry_after_seconds
            )
        )
    if result.retryable:
        message_services.record_provider_sync_error(
            message_pk=message_pk, change=change, result=result
        )
    return "failed"


@shared_task(bind=True, max_retries=PROVIDER_SYNC_RETRIES, acks_late=True)
def push_reaction_task(self, reaction_pk: int, operation: str) -> str:
    """Carry an agent's reaction (or its removal) to the provider."""
    from messaging.services.reactions import push_reaction

    result = push_reaction(reaction_pk=reaction_pk, operation=operation)
    if result is None:
        return "unsupported"
    if result.ok:
        return "done"
    if result.retryable and self.request.retries < PROVIDER_SYNC_RETRIES:
        raise self.retry(
            countdown=message_services.retry_delay_seconds(
                self.request.retries + 1, result.retry_after_seconds
            )
        )
    return "failed"


MEDIA_FETCH_RETRIES = 5


@shared_task(bind=True, max_retries=MEDIA_FETCH_RETRIES, acks_late=True)
def fetch_inbound_media_task(self, message_pk: int, payload: dict) -> str:
    """Download a file an inbound webhook only referenced, and store it on the message."""
    from messaging.services.inbound import fetch_and_store_media, note_media_error

    outcome = fetch_and_store_media(message_pk=message_pk, payload=payload)
    if outcome != "retry":
        return outcome
    if self.request.retries >= MEDIA_FETCH_RETRIES:
        message = Message.objects.get(pk=message_pk)
        note_media_error(message=message, reason="The provider kept failing to hand over the file.")
        return "failed"
    raise self.retry(countdown=min(30 * 2**self.request.retries, 3600))


@shared_task
def purge_early_status_reports_task() -> int:
    return message_services.purge_early_status_reports()


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
