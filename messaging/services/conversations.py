"""Conversation services: open, assign, snooze, close and reopen."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.models import Channel
from inbox.errors import Conflict, ValidationFailed
from inbox.models import Membership, User
from messaging.errors import InvalidStateTransition
from messaging.events import record_event
from messaging.models import Contact, Conversation
from messaging.representations import conversation_summary

ACTIVE = Conversation.ACTIVE_STATUSES


class ConversationExists(Conflict):
    code = "CONVERSATION_EXISTS"
    default_message = "The contact already has an open conversation on this channel."


def _event(conversation: Conversation, event: str, **extra: object) -> None:
    data = conversation_summary(conversation)
    if extra:
        data["meta"] = {k: v for k, v in extra.items() if v is not None}
    record_event(
        workspace=conversation.workspace,
        event=event,
        data=data,
        conversation_public_id=conversation.public_id,
    )


def _locked(conversation: Conversation) -> Conversation:
    """Re-read the row under a lock so concurrent changes serialise."""
    # `of=("self",)`: lock only the conversation row. PostgreSQL refuses
    # FOR UPDATE across the outer join to the nullable assignee.
    return (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("workspace", "channel", "contact", "assignee")
        .get(pk=conversation.pk)
    )


def _actor_id(user: User | None) -> str | None:
    return user.public_id if user else None


def open_conversation(
    *,
    channel: Channel,
    contact: Contact,
    reopen_closed: bool = True,
    create: bool = True,
) -> tuple[Conversation, bool]:
    """The contact's active conversation on `channel`, reopening or creating one.

    Must run inside a transaction. Returns (conversation, created). With
    `reopen_closed`, the contact's latest closed conversation is reopened
    rather than starting a new thread.
    """
    conversation = (
        Conversation.objects.select_for_update()
        .filter(channel=channel, contact=contact, status__in=ACTIVE)
        .first()
    )
    if conversation:
        return conversation, False
    if reopen_closed:
        closed = (
            Conversation.objects.select_for_update()
            .filter(channel=channel, contact=contact, status=Conversation.Status.CLOSED)
            .order_by("-last_message_at", "-id")
            .first()
        )
        if closed:
            now = timezone.now()
            closed.status = Conversation.Status.OPEN
            closed.reopened_at = now
            closed.reopened_by = None
            closed.closed_at = None
            closed.closed_by = None
            closed.resolution = ""
            closed.closure_reason = ""
            closed.updated_at = now
            closed.save(
                update_fields=[
                    "status",
                    "reopened_at",
                    "reopened_by",
                    "closed_at",
                    "closed_by",
                    "resolution",
                    "closure_reason",
                    "updated_at",
                ]
            )
            _event(closed, "conversation.reopened")
            return closed, False
    if not create:
        raise ValidationFailed("The contact has no open conversation on this channel.")
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                workspace=channel.workspace, channel=channel, contact=contact
            )
    except IntegrityError:
        # A concurrent request opened it first; use theirs.
        return (
            Conversation.objects.select_for_update().get(
                channel=channel, contact=contact, status__in=ACTIVE
            ),
            False,
        )
    _event(conversation, "conversation.created")
    return conversation, True


def update_conversation(
    *,
    conversation: Conversation,
    priority: str | None = None,
    tags: list[str] | None = None,
    metadata: dict | None = None,
    by: User | None = None,
) -> Conversation:
    """Change priority, replace tags, merge metadata."""
    if priority is not None and priority not in Conversation.Priority.values:
        raise ValidationFailed(
            f"Must be one of {', '.join(Conversation.Priority.values)}.", field="priority"
        )
    if tags is not None and (
        not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
    ):
        raise ValidationFailed("Must be a list of strings.", field="tags")
    if metadata is not None and not isinstance(metadata, dict):
        raise ValidationFailed("Must be an object.", field="metadata")
    with transaction.atomic():
        conversation = _locked(conversation)
        if priority is not None:
            conversation.priority = priority
        if tags is not None:
            conversation.tags = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
        if metadata is not None:
            conversation.metadata = {**conversation.metadata, **metadata}
        conversation.updated_at = timezone.now()
        conversation.save(update_fields=["priority", "tags", "metadata", "updated_at"])
        _event(conversation, "conversation.updated", by=_actor_id(by))
    return conversation


def assign_conversation(
    *,
    conversation: Conversation,
    assignee: User | None,
    by: User | None = None,
    note: str = "",
) -> Conversation:
    """Assign to an agent of the workspace, or unassign with `assignee=None`."""
    if (
        assignee is not None
        and not Membership.objects.filter(
            workspace_id=conversation.workspace_id, user=assignee
        ).exists()
    ):
        raise ValidationFailed(
            "The assignee is not an agent of this workspace.", field="assigneeId"
        )
    with transaction.atomic():
        conversation = _locked(conversation)
        if conversation.assignee_id == (assignee.pk if assignee else None):
            return conversation
        now = timezone.now()
        conversation.assignee = assignee
        conversation.assigned_at = now if assignee else None
        conversation.assigned_by = by
        conversation.updated_at = now
        conversation.save(update_fields=["assignee", "assigned_at", "assigned_by", "updated_at"])
        _event(conversation, "conversation.assigned", by=_actor_id(by), note=note or None)
    return conversation


def close_conversation(
    *,
    conversation: Conversation,
    by: User | None = None,
    resolution: str = Conversation.Resolution.RESOLVED,
    reason: str = "",
    notes: str = "",
) -> Conversation:
    if resolution not in Conversation.Resolution.values:
        raise ValidationFailed(
            f"Must be one of {', '.join(Conversation.Resolution.values)}.", field="resolution"
        )
    with transaction.atomic():
        conversation = _locked(conversation)
        if conversation.status == Conversation.Status.CLOSED:
            raise InvalidStateTransition("The conversation is already closed.")
        now = timezone.now()
        conversation.status = Conversation.Status.CLOSED
        conversation.closed_at = now
        conversation.closed_by = by
        conversation.resolution = resolution
        conversation.closure_reason = reason
        conversation.closure_notes = notes
        conversation.snoozed_until = None
        conversation.updated_at = now
        conversation.save(
            update_fields=[
                "status",
                "closed_at",
                "closed_by",
                "resolution",
                "closure_reason",
                "closure_notes",
                "snoozed_until",
                "updated_at",
            ]
        )
        _event(conversation, "conversation.closed", by=_actor_id(by))
    return conversation


def reopen_conversation(*, conversation: Conversation, by: User | None = None) -> Conversation:
    with transaction.atomic():
        conversation = _locked(conversation)
        if conversation.status != Conversation.Status.CLOSED:
            raise InvalidStateTransition("Only a closed conversation can be reopened.")
        if (
            Conversation.objects.filter(
                channel_id=conversation.channel_id,
                contact_id=conversation.contact_id,
                status__in=ACTIVE,
            )
            .exclude(pk=conversation.pk)
            .exists()
        ):
            raise ConversationExists(
                "The contact has another open conversation on this channel; continue that one."
            )
        now = timezone.now()
        conversation.status = Conversation.Status.OPEN
        conversation.reopened_at = now
        conversation.reopened_by = by
        conversation.closed_at = None
        conversation.closed_by = None
        conversation.resolution = ""
        conversation.closure_reason = ""
        conversation.updated_at = now
        conversation.save(
            update_fields=[
                "status",
                "reopened_at",
                "reopened_by",
                "closed_at",
                "closed_by",
                "resolution",
                "closure_reason",
                "updated_at",
            ]
        )
        _event(conversation, "conversation.reopened", by=_actor_id(by))
    return conversation


def snooze_conversation(
    *, conversation: Conversation, until: datetime, by: User | None = None
) -> Conversation:
    now = timezone.now()
    if until is None or until <= now:
        raise ValidationFailed("Must be a time in the future.", field="snoozedUntil")
    with transaction.atomic():
        conversation = _locked(conversation)
        if conversation.status == Conversation.Status.CLOSED:
            raise InvalidStateTransition(
                "A closed conversation cannot be snoozed; reopen it first."
            )
        conversation.status = Conversation.Status.SNOOZED
        conversation.snoozed_until = until
        conversation.updated_at = now
        conversation.save(update_fields=["status", "snoozed_until", "updated_at"])
        _event(conversation, "conversation.updated", by=_actor_id(by), change="snoozed")
    return conversation


def wake_snoozed_conversations(*, now: datetime | None = None) -> int:
    """Reopen every snoozed conversation whose time has come. Returns how many."""
    now = now or timezone.now()
    woken = 0
    due_ids = list(
        Conversation.objects.filter(
            status=Conversation.Status.SNOOZED, snoozed_until__lte=now
        ).values_list("pk", flat=True)[:1000]
    )
    for pk in due_ids:
        with transaction.atomic():
            conversation = (
                Conversation.objects.select_for_update(of=("self",))
                .select_related("workspace", "channel", "contact", "assignee")
                .filter(pk=pk, status=Conversation.Status.SNOOZED, snoozed_until__lte=now)
                .first()
            )
            if conversation is None:  # woken by an inbound message meanwhile
                continue
            conversation.status = Conversation.Status.OPEN
            conversation.snoozed_until = None
            conversation.updated_at = now
            conversation.save(update_fields=["status", "snoozed_until", "updated_at"])
            _event(conversation, "conversation.updated", change="unsnoozed")
            woken += 1
    return woken
