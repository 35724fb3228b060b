"""Contact services: create, update, delete and merge contacts; resolve addresses.

Events carry the contact exactly as the API renders it (`contact_data`), so a
webhook consumer and an API client see one shape.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from inbox.errors import AlreadyExists, Conflict, ValidationFailed
from inbox.models import Workspace
from messaging.addresses import AddressError, normalize_email, normalize_phone
from messaging.errors import ContactNotFound
from messaging.events import record_event
from messaging.models import Contact, ContactIdentifier, Conversation, Reaction
from messaging.representations import contact_resource, conversation_summary
from messaging.selectors import contacts_for
from messaging.services.conversations import ACTIVE, close_conversation


class ContactHasOpenConversations(Conflict):
    code = "CONTACT_HAS_OPEN_CONVERSATIONS"
    default_message = (
        "The contact has open, pending or snoozed conversations; close them first "
        "or delete with force=true."
    )


def contact_data(contact: Contact) -> dict[str, Any]:
    """The contact as the API renders it, re-read so identifiers and counts are current."""
    # Re-reading costs two queries (row + identifiers) but keeps one renderer
    # for the API and the events; inside a transaction it sees its changes.
    # Filtering by the workspace id rather than the row saves loading it.
    return contact_resource(contacts_for(contact.workspace_id).get(pk=contact.pk))


def _clean_tags(tags: Any) -> list[str]:
    """Stripped, de-duplicated (first occurrence wins), empty ones dropped."""
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValidationFailed("Must be a list of strings.", field="tags")
    return list(dict.fromkeys(t.strip() for t in tags if t.strip()))


def _check_metadata(metadata: Any) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise ValidationFailed("Must be an object.", field="metadata")
    return metadata


def create_contact(
    *,
    workspace: Workspace,
    name: str = "",
    phone: str = "",
    email: str = "",
    avatar_url: str = "",
    metadata: dict[str, Any] | None = None,
    tags: list[str] | None = None,
) -> Contact:
    try:
        phone = normalize_phone(phone) if phone else ""
    except AddressError as exc:
        raise ValidationFailed(str(exc), field="phone") from exc
    try:
        email = normalize_email(email) if email else ""
    except AddressError as exc:
        raise ValidationFailed(str(exc), field="email") from exc
    metadata = _check_metadata(metadata if metadata is not None else {})
    tags = _clean_tags(tags if tags is not None else [])
    if phone and Contact.objects.filter(workspace=workspace, phone=phone).exists():
        raise AlreadyExists("A contact with this phone already exists.", field="phone")
    if email and Contact.objects.filter(workspace=workspace, email=email).exists():
        raise AlreadyExists("A contact with this email already exists.", field="email")
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                workspace=workspace,
                name=name.strip(),
                phone=phone,
                email=email,
                avatar_url=avatar_url,
                metadata=metadata,
                tags=tags,
            )
            record_event(workspace=workspace, event="contact.created", data=contact_data(contact))
    except IntegrityError as exc:  # a concurrent create won the race
        raise AlreadyExists("A contact with this phone or email already exists.") from exc
    return contact


def update_contact(
    *,
    contact: Contact,
    name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    avatar_url: str | None = None,
    metadata: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    merge_metadata: bool = False,
) -> Contact:
    """Change the given fields; None leaves a field as it is, "" clears phone/email.

    `metadata` replaces the whole object (the admin edits it whole), or with
    `merge_metadata` (the API's PATCH) is merged key by key into the current
    one, like conversations' metadata, where a key set to None is removed.
    Tags are always replaced.
    """
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name.strip()
    if phone is not None:
        try:
            changes["phone"] = normalize_phone(phone) if phone else ""
        except AddressError as exc:
            raise ValidationFailed(str(exc), field="phone") from exc
    if email is not None:
        try:
            changes["email"] = normalize_email(email) if email else ""
        except AddressError as exc:
            raise ValidationFailed(str(exc), field="email") from exc
    if avatar_url is not None:
        changes["avatar_url"] = avatar_url
    if metadata is not None:
        changes["metadata"] = _check_metadata(metadata)
    if tags is not None:
        changes["tags"] = _clean_tags(tags)
    others = Contact.objects.filter(workspace_id=contact.workspace_id).exclude(pk=contact.pk)
    if changes.get("phone") and others.filter(phone=changes["phone"]).exists():
        raise AlreadyExists("A contact with this phone already exists.", field="phone")
    if changes.get("email") and others.filter(email=changes["email"]).exists():
        raise AlreadyExists("A contact with this email already exists.", field="email")
    try:
        with transaction.atomic():
            # Under the row's lock, and saving only the changed fields, so two
            # concurrent PATCHes (or a PATCH and a merge) never undo each other.
            locked = Contact.objects.select_for_update().filter(pk=contact.pk).first()
            if locked is None:
                raise ContactNotFound(f"Contact {contact.public_id} does not exist.")
            if "metadata" in changes and merge_metadata:
                merged = dict(locked.metadata)
                for key, value in changes["metadata"].items():
                    if value is None:
                        merged.pop(key, None)
                    else:
                        merged[key] = value
                changes["metadata"] = merged
            for field, value in changes.items():
                setattr(locked, field, value)
            locked.save(update_fields=[*changes, "updated_at"])
            record_event(
                workspace=contact.workspace, event="contact.updated", data=contact_data(locked)
            )
    except IntegrityError as exc:
        raise AlreadyExists("A contact with this phone or email already exists.") from exc
    # Callers keep using the instance they passed in.
    for field in (*changes, "updated_at"):
        setattr(contact, field, getattr(locked, field))
    return contact


def find_or_create_contact(
    *, workspace: Workspace, channel_type: str, address: str, name: str = ""
) -> tuple[Contact, bool]:
    """The contact behind `address` on `channel_type`, created if unknown.

    `address` must already be normalised. Must run inside a transaction. A
    phone or email already known from another channel links to the same
    contact, so WhatsApp and SMS of one person share a contact.
    """
    identifier = (
        ContactIdentifier.objects.select_related("contact")
        .filter(workspace=workspace, channel_type=channel_type, value=address)
        .first()
    )
    if identifier:
        return identifier.contact, False

    phone = address if channel_type in ("whatsapp", "sms") else ""
    email = address if channel_type == "email" else ""
    contact = None
    if phone:
        contact = Contact.objects.filter(workspace=workspace, phone=phone).first()
    elif email:
        contact = Contact.objects.filter(workspace=workspace, email=email).first()
    created = contact is None
    try:
        with transaction.atomic():
            if contact is None:
                contact = Contact.objects.create(
                    workspace=workspace, name=name, phone=phone, email=email
                )
                record_event(
                    workspace=workspace, event="contact.created", data=contact_data(contact)
                )
            ContactIdentifier.objects.create(
                workspace=workspace, contact=contact, channel_type=channel_type, value=address
            )
    except IntegrityError:
        # Another request created the same identifier (or contact) first.
        identifier = (
            ContactIdentifier.objects.select_related("contact")
            .filter(workspace=workspace, channel_type=channel_type, value=address)
            .first()
        )
        if identifier is None:
            contact = Contact.objects.get(
                workspace=workspace, **({"phone": phone} if phone else {"email": email})
            )
            ContactIdentifier.objects.get_or_create(
                workspace=workspace, contact=contact, channel_type=channel_type, value=address
            )
            return contact, False
        return identifier.contact, False
    return contact, created


def contact_address(contact: Contact, channel_type: str) -> str | None:
    """The contact's address on a channel type, from its identifiers or its phone/email."""
    for identifier in contact.identifiers.all():
        if identifier.channel_type == channel_type:
            return identifier.value
    if channel_type in ("whatsapp", "sms") and contact.phone:
        return contact.phone
    if channel_type == "email" and contact.email:
        return contact.email
    return None


def delete_contact(*, contact: Contact, force: bool = False) -> None:
    """Delete a contact with its identifiers, conversations, messages and reactions.

    Refuses while the contact has an active (open, pending or snoozed)
    conversation unless `force`. Records `contact.deleted` with the contact as
    it was and the ids of the conversations that went with it, so integrators
    can drop their copies. Attachment files stay on the storage: they may be
    shared with the media upload they came from, so a later clean-up owns them.
    """
    with transaction.atomic():
        # The lock serialises with updates and merges of the same contact; an
        # inbound message creating a conversation for it waits on the lock too.
        locked = Contact.objects.select_for_update().filter(pk=contact.pk).first()
        if locked is None:
            raise ContactNotFound(f"Contact {contact.public_id} does not exist.")
        conversations = list(
            Conversation.objects.filter(contact=locked)
            .order_by("pk")
            .values_list("public_id", "status")
        )
        active = [pid for pid, status in conversations if status in ACTIVE]
        if active and not force:
            raise ContactHasOpenConversations(
                f"The contact has {len(active)} active conversation(s): {', '.join(active)}. "
                "Close them first or delete with force=true.",
                details=[{"field": "force", "message": "Required to delete with active ones."}],
            )
        data = contact_data(locked)
        data["meta"] = {
            "deletedConversationIds": [pid for pid, _ in conversations],
            "forced": bool(active),
        }
        locked.delete()
        record_event(workspace=locked.workspace, event="contact.deleted", data=data)


def merge_contacts(*, target: Contact, source: Contact) -> Contact:
    """Fold `source` into `target` in one transaction, then delete `source`.

    Moves the source's identifiers, conversations and reactions to the target;
    fills the target's empty name, phone, email and avatar from the source;
    unions the tags (target's first) and merges metadata (target's keys win).
    Where both have an active conversation on the same channel, which the
    one-active-conversation constraint forbids, the source's one is closed
    ("unresolved", reason "merged") before it moves, and the target's goes on.
    Records `conversation.closed` for those, `conversation.updated` for every
    moved conversation (its contact changed) and `contact.merged`.
    """
    if target.pk == source.pk:
        raise ValidationFailed("A contact cannot be merged into itself.", field="sourceContactId")
    if target.workspace_id != source.workspace_id:
        raise ContactNotFound(
            f"Contact {source.public_id} does not exist.", field="sourceContactId"
        )
    try:
        with transaction.atomic():
            # Lock both rows in primary-key order, so two opposite merges
            # cannot deadlock, and re-read them: either may have changed.
            rows = {
                c.pk: c
                for c in Contact.objects.select_for_update()
                .select_related("workspace")
                .filter(pk__in=[target.pk, source.pk])
                .order_by("pk")
            }
            if source.pk not in rows:
                raise ContactNotFound(
                    f"Contact {source.public_id} does not exist.", field="sourceContactId"
                )
            if target.pk not in rows:
                raise ContactNotFound(f"Contact {target.public_id} does not exist.")
            target, source = rows[target.pk], rows[source.pk]
            workspace = target.workspace
            source_snapshot = contact_data(source)
            now = timezone.now()

            closed = _close_clashing_conversations(target=target, source=source)

            # A live reaction of both contacts with the same emoji on the same
            # message would break `reaction_unique_contact`: keep the target's.
            Reaction.objects.filter(
                actor_contact=source,
                removed_at__isnull=True,
                actor_type=Reaction.Actor.CONTACT,
            ).filter(
                Exists(
                    Reaction.objects.filter(
                        actor_contact=target,
                        removed_at__isnull=True,
                        actor_type=Reaction.Actor.CONTACT,
                        message_id=OuterRef("message_id"),
                        emoji=OuterRef("emoji"),
                    )
                )
            ).update(removed_at=now)
            Reaction.objects.filter(actor_contact=source).update(actor_contact=target)
            # (channel_type, value) is unique per workspace, so no identifier
            # of the source can collide with one of the target.
            ContactIdentifier.objects.filter(contact=source).update(contact=target)
            moved_ids = list(
                Conversation.objects.filter(contact=source)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            Conversation.objects.filter(pk__in=moved_ids).update(contact=target, updated_at=now)

            # Delete the source before giving its phone/email to the target, so
            # the per-workspace uniqueness of phone and email holds throughout.
            # Everything that cascaded from it has been moved above.
            source.delete()
            for field in ("name", "phone", "email", "avatar_url"):
                if not getattr(target, field):
                    setattr(target, field, getattr(source, field))
            target.tags = list(dict.fromkeys([*target.tags, *source.tags]))
            target.metadata = {**source.metadata, **target.metadata}
            target.save()

            moved = (
                Conversation.objects.select_related("channel", "contact", "assignee")
                .filter(pk__in=moved_ids)
                .order_by("pk")
            )
            for conversation in moved:
                data = conversation_summary(conversation)
                data["meta"] = {"change": "contact_merged", "previousContactId": source.public_id}
                record_event(
                    workspace=workspace,
                    event="conversation.updated",
                    data=data,
                    conversation_public_id=conversation.public_id,
                )
            data = contact_data(target)
            data["meta"] = {
                "source": source_snapshot,
                "movedConversationIds": [c.public_id for c in moved],
                "closedConversationIds": closed,
            }
            record_event(workspace=workspace, event="contact.merged", data=data)
    except IntegrityError as exc:
        # An inbound message opened a clashing conversation between our check
        # and the move; nothing was changed, the client can simply retry.
        raise Conflict("The contacts changed while merging; try again.") from exc
    return target


def _close_clashing_conversations(*, target: Contact, source: Contact) -> list[str]:
    """Close the source's active conversations on channels where the target has one."""
    target_channels = Conversation.objects.filter(contact=target, status__in=ACTIVE).values(
        "channel_id"
    )
    clashing = Conversation.objects.filter(
        contact=source, status__in=ACTIVE, channel_id__in=target_channels
    ).order_by("pk")
    closed = []
    for conversation in clashing:
        close_conversation(
            conversation=conversation,
            resolution=Conversation.Resolution.UNRESOLVED,
            reason="merged",
            notes=f"Closed when contact {source.public_id} was merged into {target.public_id}.",
        )
        closed.append(conversation.public_id)
    return closed
