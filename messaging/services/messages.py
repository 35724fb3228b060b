"""Message services: send, receive, deliver, status updates and read state.

Outbound: `send_message` validates, saves the message `pending` with its
counters in one transaction, and on commit queues `deliver_message`, which
claims the row with a conditional UPDATE, calls the provider outside any
transaction, and records the result. Inbound: `receive_message` dedupes on
the provider's id, finds or creates contact and conversation, and keeps the
counters right.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from channels_app.links import channel_webhook_url
from channels_app.models import Channel
from channels_app.providers.base import MessageChange, Outbound, SendResult, ThreadContext
from channels_app.providers.registry import provider_for
from inbox.errors import ValidationFailed
from inbox.models import User, Workspace
from inbox.timefmt import iso
from messaging.addresses import AddressError, normalize_address
from messaging.content import content_text, validate_content
from messaging.errors import (
    ChannelNotConnected,
    DeleteNotSupported,
    DeleteWindowExpired,
    EditNotSupported,
    EditWindowExpired,
    InvalidRecipient,
    MessageNotFound,
    OutsideMessageWindow,
    UnsupportedContentType,
)
from messaging.events import record_event
from messaging.models import Contact, Conversation, EarlyStatusReport, Message
from messaging.representations import conversation_summary, message_resource
from messaging.services.contacts import contact_address, find_or_create_contact
from messaging.services.conversations import open_conversation
from messaging.services.media import attach_uploads

logger = logging.getLogger(__name__)

Status = Message.Status
# Statuses only move forward along this order; `failed` is reachable only
# before the recipient has the message.
STATUS_RANK = {Status.PENDING: 0, Status.SENT: 1, Status.DELIVERED: 2, Status.READ: 3}
STATUS_TIMESTAMP_FIELD = {
    Status.SENT: "sent_at",
    Status.DELIVERED: "delivered_at",
    Status.READ: "read_at",
}
SCHEDULE_COUNTDOWN_LIMIT_SECONDS = 3000
STATUS_EVENT = {
    Status.SENT: "message.sent",
    Status.DELIVERED: "message.delivered",
    Status.READ: "message.read",
    Status.FAILED: "message.failed",
}


def _history_entry(status: str, at: datetime) -> dict[str, str]:
    return {"status": status, "timestamp": iso(at)}


def _message_event(message: Message, event: str) -> None:
    record_event(
        workspace=message.workspace,
        event=event,
        data=message_resource(message),
        conversation_public_id=message.conversation.public_id,
    )


def _conversation_updated(conversation: Conversation, **meta: Any) -> None:
    data = conversation_summary(conversation)
    data["meta"] = meta
    record_event(
        workspace=conversation.workspace,
        event="conversation.updated",
        data=data,
        conversation_public_id=conversation.public_id,
    )


def load_message(message_pk: int) -> Message:
    """A message with everything `message_resource` reads, in a fixed number of queries."""
    return _load(message_pk)


def _load(message_pk: int) -> Message:
    return (
        Message.objects.select_related(
            "workspace", "conversation", "channel", "reply_to", "conversation__workspace"
        )
        .prefetch_related("attachments", "reactions__actor_user", "reactions__actor_contact")
        .get(pk=message_pk)
    )


def _bump_conversation_counters(
    conversation: Conversation, message: Message, *, inbound: bool
) -> None:
    """Counters move in one UPDATE with F() so concurrent messages never lose a count."""
    at = message.created_at
    changes: dict[str, Any] = {
        "message_count": F("message_count") + 1,
        "last_message": message,
        "last_message_at": at,
        "first_message_at": Coalesce(F("first_message_at"), Value(at)),
        "updated_at": at,
    }
    if inbound:
        changes["unread_count"] = F("unread_count") + 1
        changes["last_inbound_at"] = at
    Conversation.objects.filter(pk=conversation.pk).update(**changes)
    conversation.refresh_from_db(
        fields=[
            "message_count",
            "unread_count",
            "last_message",
            "last_message_at",
            "first_message_at",
            "last_inbound_at",
            "updated_at",
            "status",
            "snoozed_until",
        ]
    )


def _unread_count_subquery() -> Subquery:
    # Same predicate as the partial index `msg_unread_inbound`.
    return Subquery(
        Message.objects.filter(
            conversation=OuterRef("pk"),
            direction=Message.Direction.INBOUND,
            read_at__isnull=True,
            deleted_at__isnull=True,
        )
        .order_by()
        .values("conversation")
        .annotate(n=Count("id"))
        .values("n")
    )


def recount_unread(conversation_ids: list[int]) -> None:
    """Set unread counts from the messages themselves, in one UPDATE."""
    if conversation_ids:
        Conversation.objects.filter(pk__in=conversation_ids).update(
            unread_count=Coalesce(_unread_count_subquery(), Value(0))
        )


# --- Sending ------------------------------------------------------------------


def _check_message_window(
    channel: Channel, conversation: Conversation | None, content_type: str, at: datetime
) -> None:
    hours = channel.capabilities.message_window_hours
    if hours is None or content_type == Message.ContentType.TEMPLATE:
        return
    last_inbound = conversation.last_inbound_at if conversation else None
    if last_inbound is None or at - last_inbound > timedelta(hours=hours):
        raise OutsideMessageWindow()


def send_message(
    *,
    workspace: Workspace,
    content: dict[str, Any],
    channel: Channel | None = None,
    conversation: Conversation | None = None,
    to: str | None = None,
    metadata: dict[str, Any] | None = None,
    scheduled_at: datetime | None = None,
    sender_user: User | None = None,
    sender_type: str = Message.Sender.AGENT,
    is_private: bool = False,
    idempotency_key: str | None = None,
    reply_to: Message | None = None,
) -> Message:
    """Queue an outbound message (or save a private note) and return it `pending`."""
    content = validate_content(content)
    if metadata is not None and not isinstance(metadata, dict):
        raise ValidationFailed("Must be an object.", field="metadata")
    if conversation is None and channel is None:
        raise ValidationFailed("Give a channelId or a conversationId.", field="channelId")
    if conversation is not None:
        if conversation.workspace_id != workspace.pk:
            raise ValidationFailed("Unknown conversation.", field="conversationId")
        if channel is not None and conversation.channel_id != channel.pk:
            raise ValidationFailed(
                "The conversation belongs to another channel.", field="conversationId"
            )
        channel = conversation.channel
    assert channel is not None
    if channel.workspace_id != workspace.pk:
        raise ValidationFailed("Unknown channel.", field="channelId")

    now = timezone.now()
    if scheduled_at is not None:
        if is_private:
            raise ValidationFailed("Private notes cannot be scheduled.", field="scheduledAt")
        if scheduled_at <= now:
            raise ValidationFailed("Must be a time in the future.", field="scheduledAt")
    if idempotency_key:
        existing = Message.objects.filter(
            workspace=workspace, idempotency_key=idempotency_key
        ).first()
        if existing:
            return _load(existing.pk)

    if not is_private:
        if not channel.is_active:
            raise ChannelNotConnected(
                f"Channel {channel.public_id} is {channel.status}; activate it before sending."
            )
        if not channel.capabilities.supports(content["type"]):
            raise UnsupportedContentType(
                f"{channel.get_type_display()} channels cannot send '{content['type']}' messages.",
                field="content.type",
            )

    address: str | None = None
    if to is not None:
        try:
            address = normalize_address(channel.type, to)
        except AddressError as exc:
            raise InvalidRecipient(str(exc), field="to") from exc
    if conversation is not None:
        known = contact_address(conversation.contact, channel.type)
        if address is not None and known is not None and address != known:
            raise InvalidRecipient("`to` does not match the conversation's contact.", field="to")
        address = address or known
        if address is None and not is_private:
            raise InvalidRecipient("The conversation's contact has no address on this channel.")
    elif address is None:
        raise ValidationFailed("`to` is required without a conversationId.", field="to")

    try:
        with transaction.atomic():
            if conversation is None:
                contact, _ = find_or_create_contact(
                    workspace=workspace, channel_type=channel.type, address=address or ""
                )
                # Sending must not resurrect a closed thread; it starts a new one.
                conversation, _ = open_conversation(
                    channel=channel, contact=contact, reopen_closed=False
                )
            else:
                conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
            if not is_private:
                _check_message_window(channel, conversation, content["type"], scheduled_at or now)

            status = Status.SENT if is_private else Status.PENDING
            message = Message.objects.create(
                workspace=workspace,
                conversation=conversation,
                channel=channel,
                direction=Message.Direction.OUTBOUND,
                sender_type=sender_type,
                sender_user=sender_user,
                from_address=channel.own_address,
                to_address=address or "",
                content_type=content["type"],
                content=content,
                text=content_text(content),
                status=status,
                status_history=[_history_entry(status, now)],
                sent_at=now if is_private else None,
                metadata=metadata or {},
                idempotency_key=idempotency_key or None,
                is_private=is_private,
                reply_to=reply_to,
                scheduled_at=scheduled_at,
                created_at=now,
            )
            attach_uploads(message=message)
            _bump_conversation_counters(conversation, message, inbound=False)
            if is_private:
                # A note is complete once saved: other agents' pages (and
                # integrations) learn of it now, as of any sent message.
                _message_event(_load(message.pk), "message.sent")
            else:
                pk = message.pk
                delay = (scheduled_at - now).total_seconds() if scheduled_at else None
                # Near-term schedules ride the broker's countdown; later ones
                # (beyond a broker's redelivery horizon) are picked up by the
                # beat task `send_due_scheduled_messages`, which also backs
                # these up if the broker loses them.
                if delay is None or delay <= SCHEDULE_COUNTDOWN_LIMIT_SECONDS:
                    transaction.on_commit(lambda: _enqueue_delivery(pk, countdown=delay))
    except IntegrityError:
        if idempotency_key:
            existing = Message.objects.filter(
                workspace=workspace, idempotency_key=idempotency_key
            ).first()
            if existing:
                return _load(existing.pk)
        raise
    return _load(message.pk)


def _enqueue_delivery(message_pk: int, countdown: float | None = None) -> None:
    from messaging.tasks import deliver_message_task

    deliver_message_task.apply_async(args=[message_pk], countdown=countdown)


def deliver_message(*, message_pk: int) -> SendResult | None:
    """Claim a pending message, send it through its provider, record the result.

    The conditional UPDATE is the claim: of two tasks for one message, only
    one sees a row count of 1, so nothing is sent twice. The provider call
    runs outside any transaction. Returns None when there was nothing to do.
    """
    now = timezone.now()
    claimed = (
        Message.objects.filter(
            pk=message_pk,
            status=Status.PENDING,
            delivery_claimed_at__isnull=True,
            is_private=False,
            deleted_at__isnull=True,
        )
        .filter(Q(scheduled_at__isnull=True) | Q(scheduled_at__lte=now))
        .update(delivery_claimed_at=now, delivery_attempts=F("delivery_attempts") + 1)
    )
    if not claimed:
        return None
    message = Message.objects.select_related("channel", "reply_to").get(pk=message_pk)
    provider = provider_for(message.channel.type, message.channel.config)
    if provider is None:
        result = SendResult.failed(
            "PROVIDER_UNAVAILABLE",
            f"No provider integration is available for {message.channel.type} channels yet.",
        )
    else:
        outbound = Outbound(
            message_id=message.public_id,
            channel_id=message.channel.public_id,
            channel_type=message.channel.type,
            config=message.channel.config,
            to=message.to_address,
            content=message.content,
            metadata=message.metadata,
            reply_to_external_id=(
                message.reply_to.provider_message_id if message.reply_to_id else None
            ),
            idempotency_key=message.public_id,
            thread=_thread_context(message) if message.channel.type == "email" else ThreadContext(),
            sender_name=str(message.channel.config.get("fromName") or ""),
            webhook_url=channel_webhook_url(message.channel),
        )
        try:
            result = provider.send(outbound)
        except Exception as exc:  # a provider bug must not strand the message
            logger.exception("provider %s crashed sending %s", message.channel.type, message_pk)
            result = SendResult.failed("PROVIDER_ERROR", str(exc)[:500], retryable=True)
    record_delivery_result(message_pk=message_pk, result=result)
    return result


# Earlier provider ids an email reply names in `References`; mail clients
# need only the first and the last few to thread.
THREAD_REFERENCES_LIMIT = 20


def _thread_context(message: Message) -> ThreadContext:
    """Subject and Message-IDs that keep an email reply in the customer's thread."""
    earlier = list(
        Message.objects.filter(
            conversation_id=message.conversation_id,
            provider_message_id__isnull=False,
            is_private=False,
            created_at__lte=message.created_at,
        )
        .exclude(pk=message.pk)
        .order_by("-created_at", "-id")
        .values_list("provider_message_id", "metadata")[:THREAD_REFERENCES_LIMIT]
    )
    earlier.reverse()
    subject = str(message.metadata.get("subject") or "")
    if not subject:
        # The thread's subject is the one its first message carried.
        subject = next(
            (
                str(meta["subject"])
                for _, meta in earlier
                if isinstance(meta, dict) and meta.get("subject")
            ),
            "",
        )
    return ThreadContext(subject=subject, references=tuple(pid for pid, _ in earlier))


def retry_delay_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Backoff before the next attempt: the provider's hint, else 30 s doubling to an hour."""
    if retry_after is not None and retry_after > 0:
        return min(retry_after, 3600.0)
    return float(min(30 * 2 ** max(attempts - 1, 0), 3600))


def record_delivery_result(*, message_pk: int, result: SendResult) -> Message:
    """Apply a provider's answer to a claimed message."""
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_pk)
        if message.status != Status.PENDING:
            return _load(message_pk)
        now = timezone.now()
        if result.ok:
            message.provider_message_id = result.provider_message_id
            message.next_attempt_at = None
            sent_at = now
            if result.provider_message_id:
                # A receipt that beat the send answer proves it was sent by then.
                earliest = (
                    EarlyStatusReport.objects.filter(
                        channel_id=message.channel_id,
                        provider_message_id=result.provider_message_id,
                    )
                    .order_by("reported_at")
                    .values_list("reported_at", flat=True)
                    .first()
                )
                if earliest is not None:
                    sent_at = min(now, earliest)
            _apply_status(message, Status.SENT, sent_at)
            message.save(
                update_fields=[
                    "provider_message_id",
                    "next_attempt_at",
                    "status",
                    "status_history",
                    "sent_at",
                    "updated_at",
                ]
            )
            _message_event(_load(message_pk), "message.sent")
            if result.provider_message_id:
                _apply_early_reports(message_pk, message.channel_id, result.provider_message_id)
        elif result.retryable:
            # Release the claim so the retry (or the sweep) can take it again.
            message.delivery_claimed_at = None
            message.next_attempt_at = now + timedelta(
                seconds=retry_delay_seconds(message.delivery_attempts, result.retry_after_seconds)
            )
            message.failure_code = result.error_code[:100]
            message.failure_reason = result.error_message[:1000]
            message.save(
                update_fields=[
                    "delivery_claimed_at",
                    "next_attempt_at",
                    "failure_code",
                    "failure_reason",
                    "updated_at",
                ]
            )
        else:
            _mark_failed(message, result.error_code, result.error_message, now)
    return _load(message_pk)


def _mark_failed(message: Message, code: str, reason: str, at: datetime) -> None:
    message.status = Status.FAILED
    message.failure_code = code[:100]
    message.failure_reason = reason[:1000]
    message.status_history = [*message.status_history, _history_entry(Status.FAILED, at)]
    message.save(
        update_fields=["status", "failure_code", "failure_reason", "status_history", "updated_at"]
    )
    _message_event(_load(message.pk), "message.failed")


def fail_message(*, message_pk: int, code: str, reason: str) -> Message:
    """Give up on a pending message (retries exhausted)."""
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_pk)
        if message.status == Status.PENDING:
            _mark_failed(message, code, reason, timezone.now())
    return _load(message_pk)


def retry_message(*, message: Message) -> Message:
    """Put a failed outbound message back in the queue."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.status != Status.FAILED or locked.direction != Message.Direction.OUTBOUND:
            raise ValidationFailed("Only failed outbound messages can be retried.")
        now = timezone.now()
        locked.status = Status.PENDING
        locked.delivery_claimed_at = None
        locked.failure_code = ""
        locked.failure_reason = ""
        locked.status_history = [*locked.status_history, _history_entry(Status.PENDING, now)]
        locked.save(
            update_fields=[
                "status",
                "delivery_claimed_at",
                "failure_code",
                "failure_reason",
                "status_history",
                "updated_at",
            ]
        )
        pk = locked.pk
        transaction.on_commit(lambda: _enqueue_delivery(pk))
    return _load(message.pk)


def _apply_status(message: Message, status: str, at: datetime) -> bool:
    """Move `message` towards `status` in memory; True when anything changed.

    A status reported late (a `sent` after `read`) fills in its own timestamp
    and history entry but never moves the status backwards.
    """
    changed = False
    field = STATUS_TIMESTAMP_FIELD.get(status)
    if field and getattr(message, field) is None:
        setattr(message, field, at)
        changed = True
    if not any(entry["status"] == status for entry in message.status_history):
        history = [*message.status_history, _history_entry(status, at)]
        message.status_history = sorted(history, key=lambda entry: entry["timestamp"])
        changed = True
    if message.status != Status.FAILED and STATUS_RANK.get(status, -1) > STATUS_RANK.get(
        message.status, -1
    ):
        message.status = status
        changed = True
    return changed


def update_message_status(
    *,
    message: Message,
    status: str,
    at: datetime | None = None,
    error_code: str = "",
    error_message: str = "",
) -> Message:
    """Apply a provider's status report (sent, delivered, read or failed)."""
    if status not in Status.values:
        raise ValidationFailed(f"Unknown status {status!r}.", field="status")
    at = at or timezone.now()
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if status == Status.FAILED:
            if locked.status in (Status.PENDING, Status.SENT):
                _mark_failed(locked, error_code or "FAILED", error_message, at)
            return _load(locked.pk)
        before = locked.status
        if not _apply_status(locked, status, at):
            return _load(locked.pk)
        locked.save(
            update_fields=[
                "status",
                "status_history",
                "sent_at",
                "delivered_at",
                "read_at",
                "updated_at",
            ]
        )
        if locked.status != before:
            _message_event(_load(locked.pk), STATUS_EVENT[locked.status])
    return _load(message.pk)


def apply_provider_status(
    *,
    channel: Channel,
    provider_message_id: str,
    status: str,
    at: datetime | None = None,
    error_code: str = "",
    error_message: str = "",
) -> Message | None:
    """Apply a status callback, found by the provider's id on `channel`.

    A report for a message whose send answer is still in flight is kept as
    an `EarlyStatusReport` and applied when that answer is recorded; None is
    returned then, as for ids we never sent.
    """
    if status not in (Status.SENT, Status.DELIVERED, Status.READ, Status.FAILED):
        raise ValidationFailed(f"Unknown status {status!r}.", field="status")
    at = at or timezone.now()
    message = Message.objects.filter(
        channel=channel, provider_message_id=provider_message_id
    ).first()
    if message is not None:
        return update_message_status(
            message=message,
            status=status,
            at=at,
            error_code=error_code,
            error_message=error_message,
        )
    EarlyStatusReport.objects.create(
        channel=channel,
        provider_message_id=provider_message_id[:255],
        status=status,
        reported_at=at,
        error_code=error_code[:100],
        error_message=error_message[:1000],
    )
    # The send answer may have been recorded between the lookup and the insert.
    message = Message.objects.filter(
        channel=channel, provider_message_id=provider_message_id
    ).first()
    if message is not None:
        _apply_early_reports(message.pk, channel.pk, provider_message_id)
        return _load(message.pk)
    return None


def _apply_early_reports(message_pk: int, channel_id: int, provider_message_id: str) -> None:
    """Apply and drop the reports that arrived before the provider id was known."""
    reports = list(
        EarlyStatusReport.objects.filter(
            channel_id=channel_id, provider_message_id=provider_message_id
        ).order_by("reported_at", "pk")
    )
    if not reports:
        return
    message = Message.objects.get(pk=message_pk)
    for report in reports:
        message = update_message_status(
            message=message,
            status=report.status,
            at=report.reported_at,
            error_code=report.error_code,
            error_message=report.error_message,
        )
    EarlyStatusReport.objects.filter(pk__in=[r.pk for r in reports]).delete()


EARLY_REPORT_TTL = timedelta(days=1)


def purge_early_status_reports(*, now: datetime | None = None) -> int:
    """Drop reports for messages that never got their provider id (a day on)."""
    cutoff = (now or timezone.now()) - EARLY_REPORT_TTL
    deleted, _ = EarlyStatusReport.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# A message queued this long ago and neither claimed nor retried lost its task.
LOST_TASK_GRACE = timedelta(seconds=60)
MAX_DELIVERY_ATTEMPTS = 6


def requeue_stuck_deliveries(*, now: datetime | None = None, batch: int = 500) -> int:
    """Put back in the queue the pending messages nobody is sending.

    Two cases: a claim older than DELIVERY_CLAIM_TIMEOUT_SECONDS (the worker
    died mid-send: the claim is released with a conditional UPDATE so a
    worker that was merely slow and a sweep cannot both win), and an
    unclaimed message whose task or retry is long overdue (the broker lost
    it). A message that used up its attempts fails instead. Re-sending is
    safe from doubles where the provider has an idempotency mechanism: every
    attempt carries the message id as its key (`Outbound.idempotency_key`).
    """
    now = now or timezone.now()
    claim_cutoff = now - timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT_SECONDS)
    lost_cutoff = now - LOST_TASK_GRACE
    pending = Message.objects.filter(
        status=Status.PENDING, is_private=False, deleted_at__isnull=True
    ).filter(Q(scheduled_at__isnull=True) | Q(scheduled_at__lte=now))
    stuck = list(
        pending.filter(delivery_claimed_at__lt=claim_cutoff).values_list(
            "pk", "delivery_claimed_at", "delivery_attempts"
        )[:batch]
    )
    lost = list(
        pending.filter(delivery_claimed_at__isnull=True, created_at__lt=lost_cutoff)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=lost_cutoff))
        .values_list("pk", "delivery_attempts")[:batch]
    )
    queued = 0
    for pk, claimed_at, attempts in stuck:
        released = Message.objects.filter(
            pk=pk, status=Status.PENDING, delivery_claimed_at=claimed_at
        ).update(delivery_claimed_at=None)
        if not released:
            continue
        if attempts >= MAX_DELIVERY_ATTEMPTS:
            fail_message(
                message_pk=pk,
                code="DELIVERY_TIMEOUT",
                reason="Sending kept stopping before the provider answered; attempts exhausted.",
            )
            continue
        logger.warning("message %s was stuck mid-send since %s; re-queued", pk, claimed_at)
        _enqueue_delivery(pk)
        queued += 1
    for pk, attempts in lost:
        if attempts >= MAX_DELIVERY_ATTEMPTS:
            fail_message(
                message_pk=pk,
                code="DELIVERY_FAILED",
                reason="The provider kept failing; retries exhausted.",
            )
            continue
        _enqueue_delivery(pk)
        queued += 1
    return queued


# --- Receiving ----------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    message: Message
    created: bool


def receive_message(
    *,
    channel: Channel,
    sender: str,
    content: dict[str, Any],
    provider_message_id: str | None = None,
    sender_name: str = "",
    received_at: datetime | None = None,
    metadata: dict[str, Any] | None = None,
    reply_to: Message | None = None,
) -> Received:
    """Record an inbound message once, however often the provider repeats it."""
    if provider_message_id:
        existing = Message.objects.filter(
            channel=channel, provider_message_id=provider_message_id
        ).first()
        if existing:
            return Received(_load(existing.pk), created=False)
    try:
        address = normalize_address(channel.type, sender)
    except AddressError as exc:
        raise InvalidRecipient(str(exc), field="from") from exc
    if not isinstance(content, dict) or content.get("type") not in Message.ContentType.values:
        raise ValidationFailed("Unknown content type.", field="content.type")
    now = timezone.now()
    at = min(received_at or now, now)
    workspace = channel.workspace
    try:
        with transaction.atomic():
            contact, _ = find_or_create_contact(
                workspace=workspace, channel_type=channel.type, address=address, name=sender_name
            )
            if sender_name and not contact.name:
                Contact.objects.filter(pk=contact.pk).update(name=sender_name)
            conversation, _ = open_conversation(channel=channel, contact=contact)
            if conversation.status == Conversation.Status.SNOOZED:
                # A customer writing back wakes a snoozed conversation.
                conversation.status = Conversation.Status.OPEN
                conversation.snoozed_until = None
                conversation.save(update_fields=["status", "snoozed_until"])
            message = Message.objects.create(
                workspace=workspace,
                conversation=conversation,
                channel=channel,
                direction=Message.Direction.INBOUND,
                sender_type=Message.Sender.CONTACT,
                from_address=address,
                to_address=channel.own_address,
                content_type=content["type"],
                content=content,
                text=content_text(content),
                status=Status.DELIVERED,
                status_history=[_history_entry(Status.DELIVERED, at)],
                delivered_at=at,
                provider_message_id=provider_message_id or None,
                metadata=metadata or {},
                reply_to=reply_to,
                created_at=at,
            )
            _bump_conversation_counters(conversation, message, inbound=True)
            _message_event(_load(message.pk), "message.received")
    except IntegrityError:
        if provider_message_id:
            existing = Message.objects.filter(
                channel=channel, provider_message_id=provider_message_id
            ).first()
            if existing:
                return Received(_load(existing.pk), created=False)
        raise
    return Received(_load(message.pk), created=True)


# --- Read state ---------------------------------------------------------------


def mark_read(*, message: Message, at: datetime | None = None) -> Message:
    """Mark one message read; an inbound one stops counting as unread."""
    at = at or timezone.now()
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.read_at is not None or locked.deleted_at is not None:
            return _load(locked.pk)
        locked.read_at = at
        if locked.status != Status.FAILED:
            locked.status = Status.READ
        locked.save(update_fields=["read_at", "status", "updated_at"])
        if locked.direction == Message.Direction.INBOUND:
            recount_unread([locked.conversation_id])
            conversation = Conversation.objects.select_related(
                "workspace", "channel", "contact", "assignee"
            ).get(pk=locked.conversation_id)
            _conversation_updated(conversation, change="read")
        else:
            _message_event(_load(locked.pk), "message.read")
    return _load(message.pk)


def bulk_mark_read(
    *,
    workspace: Workspace,
    message_ids: list[str] | None = None,
    conversation: Conversation | None = None,
    before: datetime | None = None,
) -> int:
    """Mark many messages read in one UPDATE; returns how many changed.

    By `message_ids` (public ids, any direction, this workspace only) or by
    `conversation` (its unread inbound messages, optionally up to `before`).
    """
    if not message_ids and conversation is None:
        raise ValidationFailed("Give messageIds or a conversationId.", field="messageIds")
    now = timezone.now()
    unread = Message.objects.filter(
        workspace=workspace, read_at__isnull=True, deleted_at__isnull=True
    )
    if message_ids:
        unread = unread.filter(public_id__in=message_ids)
        if conversation is not None:
            unread = unread.filter(conversation=conversation)
        conversation_ids = list(
            unread.filter(direction=Message.Direction.INBOUND)
            .order_by()
            .values_list("conversation_id", flat=True)
            .distinct()
        )
    else:
        unread = unread.filter(conversation=conversation, direction=Message.Direction.INBOUND)
        conversation_ids = [conversation.pk]
    if before is not None:
        unread = unread.filter(created_at__lte=before)
    with transaction.atomic():
        marked = unread.exclude(status=Status.FAILED).update(
            read_at=now, status=Status.READ, updated_at=now
        )
        if marked:
            recount_unread(conversation_ids)
            for conv in Conversation.objects.select_related(
                "workspace", "channel", "contact", "assignee"
            ).filter(pk__in=conversation_ids):
                _conversation_updated(conv, change="read")
    return marked


# --- Delete and edit ----------------------------------------------------------


def _refresh_after_removal(conversation_id: int) -> None:
    """Counters and the last message after a message left the thread."""
    last = (
        Message.objects.filter(conversation_id=conversation_id, deleted_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    Conversation.objects.filter(pk=conversation_id).update(
        message_count=Coalesce(
            Subquery(
                Message.objects.filter(conversation_id=conversation_id, deleted_at__isnull=True)
                .order_by()
                .values("conversation")
                .annotate(n=Count("id"))
                .values("n")
            ),
            Value(0),
        ),
        last_message=last,
        last_message_at=last.created_at if last else None,
    )
    recount_unread([conversation_id])


def delete_message(*, message: Message, for_everyone: bool = False) -> Message:
    """Soft-delete: the message leaves every list but stays for operators.

    With `for_everyone`, the channel must support deleting and the message
    must be an outbound one still inside the channel's window.
    """
    if message.deleted_at is not None:
        raise MessageNotFound(f"Message {message.public_id} does not exist.")
    capabilities = message.channel.capabilities
    now = timezone.now()
    if for_everyone:
        if not capabilities.delete_for_everyone:
            raise DeleteNotSupported(
                f"{message.channel.get_type_display()} channels cannot delete messages "
                "for everyone."
            )
        if message.direction != Message.Direction.OUTBOUND:
            raise DeleteNotSupported("Only messages we sent can be deleted for everyone.")
        window = capabilities.delete_window_seconds
        sent = message.sent_at or message.created_at
        if window is not None and (now - sent).total_seconds() > window:
            raise DeleteWindowExpired(
                f"Messages can be deleted for everyone only within {window // 3600} hours."
            )
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.deleted_at is not None:
            raise MessageNotFound(f"Message {message.public_id} does not exist.")
        locked.deleted_at = now
        locked.deleted_for_everyone = for_everyone
        locked.save(update_fields=["deleted_at", "deleted_for_everyone", "updated_at"])
        _refresh_after_removal(locked.conversation_id)
        _message_event(_load(locked.pk), "message.deleted")
        if for_everyone:
            _queue_provider_change(locked, "delete")
    return _load(message.pk)


def edit_message(*, message: Message, content: dict[str, Any]) -> Message:
    """Replace the text of an outbound text message where the channel allows edits."""
    content = validate_content(content)
    capabilities = message.channel.capabilities
    if content["type"] != Message.ContentType.TEXT or message.content_type != "text":
        raise EditNotSupported("Only text messages can be edited, and only into text.")
    if message.direction != Message.Direction.OUTBOUND:
        raise EditNotSupported("Only messages we sent can be edited.")
    if not capabilities.edit and not message.is_private:
        raise EditNotSupported(
            f"{message.channel.get_type_display()} channels do not support editing messages."
        )
    window = capabilities.edit_window_seconds
    sent = message.sent_at or message.created_at
    if (
        window is not None
        and not message.is_private
        and (timezone.now() - sent).total_seconds() > window
    ):
        raise EditWindowExpired(f"Messages can be edited only within {window // 3600} hours.")
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.deleted_at is not None:
            raise MessageNotFound(f"Message {message.public_id} does not exist.")
        locked.content = content
        locked.text = content_text(content)
        locked.edited_at = timezone.now()
        locked.save(update_fields=["content", "text", "edited_at", "updated_at"])
        fresh = _load(locked.pk)
        data = message_resource(fresh)
        data["meta"] = {"change": "edited"}
        record_event(
            workspace=fresh.workspace,
            event="message.updated",
            data=data,
            conversation_public_id=fresh.conversation.public_id,
        )
        _queue_provider_change(locked, "edit")
    return _load(message.pk)


# --- Carrying edits and deletes to the provider ---------------------------------


def _queue_provider_change(message: Message, change: str) -> None:
    """After commit, tell the provider about an edit or delete of a message it has.

    A message still pending needs nothing: the delivery sends the current
    content, and a deleted message is never sent.
    """
    if message.is_private or not message.provider_message_id:
        return
    pk = message.pk

    def queue() -> None:
        from messaging.tasks import push_message_change_task

        push_message_change_task.delay(pk, change)

    transaction.on_commit(queue)


def push_message_change(*, message_pk: int, change: str) -> SendResult | None:
    """Call the provider's `edit` or `delete` for a message; None when it has neither.

    A permanent refusal is recorded in the message's metadata
    (`providerSyncError`), where the API and the inbox show it.
    """
    message = Message.objects.select_related("channel").get(pk=message_pk)
    provider = provider_for(message.channel.type, message.channel.config)
    method = getattr(provider, change, None) if provider is not None else None
    if method is None or not message.provider_message_id:
        return None
    result: SendResult = method(
        MessageChange(
            message_id=message.public_id,
            channel_type=message.channel.type,
            config=message.channel.config,
            to=message.to_address,
            external_id=message.provider_message_id,
            content=message.content,
        )
    )
    if not result.ok and not result.retryable:
        record_provider_sync_error(message_pk=message_pk, change=change, result=result)
    return result


def record_provider_sync_error(*, message_pk: int, change: str, result: SendResult) -> None:
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message_pk)
        locked.metadata = {
            **locked.metadata,
            "providerSyncError": {
                "change": change,
                "code": result.error_code,
                "message": result.error_message[:500],
            },
        }
        locked.save(update_fields=["metadata", "updated_at"])
        fresh = _load(locked.pk)
        data = message_resource(fresh)
        data["meta"] = {"change": f"{change}.failed"}
        record_event(
            workspace=fresh.workspace,
            event="message.updated",
            data=data,
            conversation_public_id=fresh.conversation.public_id,
        )
