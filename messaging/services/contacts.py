"""Contact services: create contacts and resolve a channel address to a contact."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from inbox.errors import AlreadyExists, ValidationFailed
from inbox.models import Workspace
from messaging.addresses import AddressError, normalize_email, normalize_phone
from messaging.events import record_event
from messaging.models import Contact, ContactIdentifier


def contact_data(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.public_id,
        "type": "contact",
        "attributes": {
            "name": contact.name,
            "phone": contact.phone or None,
            "email": contact.email or None,
            "avatar": contact.avatar_url or None,
            "metadata": contact.metadata,
            "tags": contact.tags,
        },
    }


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
    if phone and Contact.objects.filter(workspace=workspace, phone=phone).exists():
        raise AlreadyExists("A contact with this phone already exists.", field="phone")
    if email and Contact.objects.filter(workspace=workspace, email=email).exists():
        raise AlreadyExists("A contact with this email already exists.", field="email")
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                workspace=workspace,
                name=name,
                phone=phone,
                email=email,
                avatar_url=avatar_url,
                metadata=metadata or {},
                tags=list(tags or []),
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
) -> Contact:
    """Change the given fields; None leaves a field as it is, "" clears phone/email."""
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
        if not isinstance(metadata, dict):
            raise ValidationFailed("Must be an object.", field="metadata")
        changes["metadata"] = metadata
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValidationFailed("Must be a list of strings.", field="tags")
        changes["tags"] = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    others = Contact.objects.filter(workspace_id=contact.workspace_id).exclude(pk=contact.pk)
    if changes.get("phone") and others.filter(phone=changes["phone"]).exists():
        raise AlreadyExists("A contact with this phone already exists.", field="phone")
    if changes.get("email") and others.filter(email=changes["email"]).exists():
        raise AlreadyExists("A contact with this email already exists.", field="email")
    try:
        with transaction.atomic():
            for field, value in changes.items():
                setattr(contact, field, value)
            contact.save()
            record_event(
                workspace=contact.workspace, event="contact.updated", data=contact_data(contact)
            )
    except IntegrityError as exc:
        raise AlreadyExists("A contact with this phone or email already exists.") from exc
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
