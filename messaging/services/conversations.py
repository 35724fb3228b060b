"""Conversation services: open, create, assign, transfer, snooze, close and reopen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.models import Channel
from inbox.errors import Conflict, ValidationFailed
from inbox.models import Membership, User, Workspace
from messaging.addresses import PHONE_CHANNEL_TYPES, AddressError, normalize_email, normalize_phone
from messaging.errors import InvalidStateTransition
from messaging.events import record_event
from messaging.models import Contact, Conversation, Message
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


# --- Creating, changing and handing over (the Conversations API, the inbox UI) ---


def _check_member(workspace_id: int, user: User | None, field: str) -> None:
    if (
        user is not None
        and not Membership.objects.filter(workspace_id=workspace_id, user=user).exists()
    ):
        raise ValidationFailed("Not an agent of this workspace.", field=field)


def _clean_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValidationFailed("Must be a list of strings.", field="tags")
    return list(dict.fromkeys(t.strip() for t in tags if t.strip()))


def _required_address_kind(channel: Channel) -> str | None:
    """What a contact needs so this channel can reach them: a phone, an email, or nothing known."""
    if channel.type in PHONE_CHANNEL_TYPES:
        return "phone"
    if channel.type == Channel.Type.EMAIL:
        return "email"
    return None


def create_conversation(
    *,
    workspace: Workspace,
    channel: Channel,
    contact: Contact | None = None,
    contact_phone: str = "",
    contact_email: str = "",
    contact_name: str = "",
    assignee: User | None = None,
    metadata: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    by: User | None = None,
) -> Conversation:
    """Start a conversation with a contact on a channel (an outbound-first thread).

    Give `contact`, or a phone and/or email: the contact with that phone, else
    with that email, is used, and a new one is created when neither is known
    (the contact fields of an existing contact are left as they are). Refuses
    with CONVERSATION_EXISTS when the contact already has an active
    conversation on the channel, so threads never fork. Contact creation and
    the conversation commit together or not at all.
    """
    # Imported here: `services.contacts` imports this module.
    from messaging.services.contacts import contact_address, create_contact

    if channel.workspace_id != workspace.pk:
        raise ValidationFailed("Unknown channel.", field="channelId")
    phone = email = ""
    contact_given = contact is not None
    if contact is not None:
        if contact.workspace_id != workspace.pk:
            raise ValidationFailed("Unknown contact.", field="contactId")
        if contact_phone or contact_email or contact_name:
            raise ValidationFailed("Give contactId or contact, not both.", field="contact")
    else:
        try:
            phone = normalize_phone(contact_phone) if contact_phone else ""
        except AddressError as exc:
            raise ValidationFailed(str(exc), field="contact.phone") from exc
        try:
            email = normalize_email(contact_email) if contact_email else ""
        except AddressError as exc:
            raise ValidationFailed(str(exc), field="contact.email") from exc
        if not phone and not email:
            raise ValidationFailed("Give the contact's phone or email.", field="contact")
    if metadata is not None and not isinstance(metadata, dict):
        raise ValidationFailed("Must be an object.", field="metadata")
    clean_tags = _clean_tags(tags) if tags is not None else []
    _check_member(workspace.pk, assignee, "assigneeId")
    needed = _required_address_kind(channel)
    if contact is None and needed and not (phone if needed == "phone" else email):
        raise ValidationFailed(
            f"A {channel.get_type_display()} conversation needs the contact's {needed}.",
            field=f"contact.{needed}",
        )

    now = timezone.now()
    with transaction.atomic():
        if contact is None:
            contact = (
                Contact.objects.filter(workspace=workspace, phone=phone).first() if phone else None
            ) or (
                Contact.objects.filter(workspace=workspace, email=email).first() if email else None
            )
            if contact is None:
                contact = create_contact(
                    workspace=workspace, name=contact_name.strip(), phone=phone, email=email
                )
        # A thread the channel can never deliver to is a trap for the agent.
        if needed and contact_address(contact, channel.type) is None:
            raise ValidationFailed(
                f"Contact {contact.public_id} has no {needed} to reach on "
                f"this {channel.get_type_display()} channel.",
                field="contactId" if contact_given else f"contact.{needed}",
            )
        existing = (
            Conversation.objects.filter(channel=channel, contact=contact, status__in=ACTIVE)
            .values_list("public_id", flat=True)
            .first()
        )
        if existing:
            raise ConversationExists(
                f"The contact already has an active conversation on this channel ({existing}); "
                "continue that one."
            )
        try:
            with transaction.atomic():
                conversation = Conversation.objects.create(
                    workspace=workspace,
                    channel=channel,
                    contact=contact,
                    assignee=assignee,
                    assigned_at=now if assignee else None,
                    assigned_by=by if assignee else None,
                    metadata=metadata or {},
                    tags=clean_tags,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError as exc:  # a concurrent request opened it first
            raise ConversationExists() from exc
        _event(conversation, "conversation.created", by=_actor_id(by))
    return conversation


def set_conversation_status(
    *, conversation: Conversation, status: str, by: User | None = None
) -> Conversation:
    """Move an active conversation to `open` or `pending`; a snoozed one wakes up.

    Closing, snoozing and reopening a closed conversation have their own
    services (`close_conversation`, `snooze_conversation`, `reopen_conversation`).
    """
    allowed = (Conversation.Status.OPEN, Conversation.Status.PENDING)
    if status not in allowed:
        raise ValidationFailed("Must be open or pending.", field="status")
    with transaction.atomic():
        conversation = _locked(conversation)
        if conversation.status == Conversation.Status.CLOSED:
            raise InvalidStateTransition("The conversation is closed; reopen it first.")
        if conversation.status == status:
            return conversation
        previous = conversation.status
        conversation.status = status
        conversation.snoozed_until = None
        conversation.updated_at = timezone.now()
        conversation.save(update_fields=["status", "snoozed_until", "updated_at"])
        change = "unsnoozed" if previous == Conversation.Status.SNOOZED else "status"
        _event(
            conversation,
            "conversation.updated",
            by=_actor_id(by),
            change=change,
            previousStatus=previous,
        )
    return conversation


def apply_conversation_changes(
    *,
    conversation: Conversation,
    status: str | None = None,
    priority: str | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    snoozed_until: datetime | None = None,
    by: User | None = None,
) -> Conversation:
    """Field changes plus a status transition, all or nothing (the API's PATCH).

    Priority, tags and metadata go through `update_conversation`; the status
    through the service of its transition. `snoozed_until` alone snoozes.
    Asking for the status the conversation already has changes nothing.
    """
    Status = Conversation.Status
    if status is not None and status not in Status.values:
        raise ValidationFailed(f"Must be one of {', '.join(Status.values)}.", field="status")
    if status == Status.SNOOZED and snoozed_until is None:
        raise ValidationFailed("Required when status is snoozed.", field="snoozedUntil")
    if snoozed_until is not None:
        if status not in (None, Status.SNOOZED):
            raise ValidationFailed("Only allowed with status snoozed.", field="snoozedUntil")
        if snoozed_until <= timezone.now():
            raise ValidationFailed("Must be a time in the future.", field="snoozedUntil")
        status = Status.SNOOZED
    with transaction.atomic():
        if priority is not None or tags is not None or metadata is not None:
            conversation = update_conversation(
                conversation=conversation, priority=priority, tags=tags, metadata=metadata, by=by
            )
        current = _locked(conversation).status
        if status == Status.SNOOZED:
            conversation = snooze_conversation(
                conversation=conversation, until=snoozed_until, by=by
            )
        elif status == Status.CLOSED and current != Status.CLOSED:
            conversation = close_conversation(conversation=conversation, by=by)
        elif status == Status.OPEN and current == Status.CLOSED:
            conversation = reopen_conversation(conversation=conversation, by=by)
        elif status in (Status.OPEN, Status.PENDING):
            conversation = set_conversation_status(conversation=conversation, status=status, by=by)
    return conversation


TRANSFER_NOTICE = "You are now chatting with {name}, who will take it from here."


def transfer_conversation(
    *,
    conversation: Conversation,
    to_assignee: User,
    by: User | None = None,
    reason: str = "",
    summary: str = "",
    notify_contact: bool = False,
) -> Conversation:
    """Hand a conversation to another agent.

    Assigns it (`conversation.assigned`), keeps `summary` as a private note
    for the new agent, optionally tells the contact through the normal send
    path, and records `conversation.transferred`. One transaction: when the
    notice cannot be sent (channel inactive, outside the message window),
    nothing changes and the send error is answered.
    """
    # Imported here: `services.messages` imports this module.
    from messaging.services.messages import send_message

    if to_assignee is None:
        raise ValidationFailed("Name the agent to transfer to.", field="toAssigneeId")
    _check_member(conversation.workspace_id, to_assignee, "toAssigneeId")
    summary = (summary or "").strip()
    with transaction.atomic():
        locked = _locked(conversation)
        if locked.status == Conversation.Status.CLOSED:
            raise InvalidStateTransition(
                "A closed conversation cannot be transferred; reopen it first."
            )
        if locked.assignee_id == to_assignee.pk:
            raise ValidationFailed(
                "The conversation is already assigned to this agent.", field="toAssigneeId"
            )
        previous = locked.assignee
        transfer = {
            "fromAssigneeId": previous.public_id if previous else None,
            "toAssigneeId": to_assignee.public_id,
            "reason": reason or None,
        }
        locked = assign_conversation(conversation=locked, assignee=to_assignee, by=by, note=reason)
        if summary:
            send_message(
                workspace=locked.workspace,
                conversation=locked,
                content={"type": "text", "text": summary},
                sender_user=by,
                is_private=True,
                metadata={"transfer": transfer},
            )
        if notify_contact:
            send_message(
                workspace=locked.workspace,
                conversation=locked,
                content={"type": "text", "text": TRANSFER_NOTICE.format(name=to_assignee.name)},
                sender_user=by,
                sender_type=Message.Sender.SYSTEM,
                metadata={"transfer": transfer},
            )
        # Re-read: the messages above moved the counters and the last message.
        locked = _locked(locked)
        _event(locked, "conversation.transferred", by=_actor_id(by), **transfer)
    return locked
