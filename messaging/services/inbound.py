"""Inbound events from providers, applied through the services.

The channel webhook endpoint (`channels_app.views`) and pollers (IMAP) parse
what a provider sends into neutral events (`channels_app.providers.base`);
`apply_inbound_events` turns each into the service call it stands for:
`receive_message` for a message (deduped on the provider's id),
`apply_provider_status` for a status callback, `update_message_status` for
each of our messages a watermark receipt covers (Messenger), `react_to_message`
for a reaction. Files that arrived inline are stored at once; files the provider
only referenced are fetched by a task, so the webhook answers fast.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from channels_app.models import Channel
from channels_app.providers.base import (
    Ignored,
    InboundEvent,
    InboundMedia,
    InboundMessage,
    InboundReaction,
    InboundReadUpTo,
    InboundStatus,
    MediaFetchError,
)
from channels_app.providers.registry import provider_for
from inbox.errors import DomainError, ValidationFailed
from inbox.ids import new_public_id
from inbox.links import absolute_url
from messaging.addresses import AddressError, normalize_address
from messaging.events import record_event
from messaging.models import Attachment, ContactIdentifier, Message, Reaction
from messaging.representations import message_resource
from messaging.services.contacts import find_or_create_contact
from messaging.services.media import _EXTENSIONS, MB, _sniff
from messaging.services.messages import (
    apply_provider_status,
    load_message,
    receive_message,
    update_message_status,
)
from messaging.services.reactions import react_to_message

logger = logging.getLogger(__name__)

# Customers send what their phone makes; we keep anything up to this size,
# but serve only known types as themselves (anything else as a download).
INBOUND_MEDIA_MAX_BYTES = 100 * MB
# Content types whose `url` is the file itself; a text message with files
# (an email) keeps them as attachments only.
MEDIA_CONTENT_TYPES = frozenset({"image", "video", "audio", "document"})
# One watermark receipt moves at most this many messages, the newest first:
# older ones have had their own receipts long ago.
READ_UP_TO_LIMIT = 200
# The statuses a watermark receipt moves a message on from.
_BEFORE = {"read": ("sent", "delivered"), "delivered": ("sent",)}


@dataclass
class InboundSummary:
    received: int = 0
    duplicates: int = 0
    statuses: int = 0
    reactions: int = 0
    ignored: int = 0
    # Events we could not apply (an unknown message id, a bad address).
    skipped: int = 0
    messages: list[Message] = field(default_factory=list)


def apply_inbound_events(*, channel: Channel, events: list[InboundEvent]) -> InboundSummary:
    """Apply a provider's parsed events in order; safe to repeat (dedupe by provider id).

    An event that cannot be applied (a reaction to a message we never saw, a
    sender address the channel cannot use) is logged and skipped: the
    provider would only retry it forever. Database errors propagate, so the
    endpoint answers 5xx and the provider retries the whole delivery.
    """
    summary = InboundSummary()
    for event in events:
        try:
            if isinstance(event, InboundMessage):
                _apply_message(channel, event, summary)
            elif isinstance(event, InboundStatus):
                _apply_status(channel, event, summary)
            elif isinstance(event, InboundReaction):
                _apply_reaction(channel, event, summary)
            elif isinstance(event, InboundReadUpTo):
                _apply_read_up_to(channel, event, summary)
            elif isinstance(event, Ignored):
                summary.ignored += 1
                logger.info(
                    "channel %s: ignored %s event %s", channel.public_id, event.kind, event.detail
                )
        except DomainError as exc:
            summary.skipped += 1
            logger.warning(
                "channel %s: skipped an inbound %s: %s",
                channel.public_id,
                type(event).__name__,
                exc.message,
            )
    return summary


def _apply_message(channel: Channel, event: InboundMessage, summary: InboundSummary) -> None:
    reply_to = None
    if event.reply_to_provider_id:
        reply_to = Message.objects.filter(
            channel=channel, provider_message_id=event.reply_to_provider_id
        ).first()
    received = receive_message(
        channel=channel,
        sender=event.sender,
        content=event.content,
        provider_message_id=event.provider_message_id or None,
        sender_name=event.sender_name,
        received_at=event.received_at,
        metadata=event.metadata,
        reply_to=reply_to,
    )
    if not received.created:
        summary.duplicates += 1
        return
    summary.received += 1
    summary.messages.append(received.message)
    for media in event.media:
        if media.data is not None:
            _store_quietly(received.message, media)
        else:
            pk = received.message.pk
            payload = media_payload(media)
            transaction.on_commit(lambda pk=pk, payload=payload: _queue_fetch(pk, payload))


def _queue_fetch(message_pk: int, payload: dict[str, Any]) -> None:
    from messaging.tasks import fetch_inbound_media_task

    fetch_inbound_media_task.delay(message_pk, payload)


def media_payload(media: InboundMedia) -> dict[str, Any]:
    """An `InboundMedia` reference as JSON for a task (never with bytes)."""
    return {
        "kind": media.kind,
        "ref": media.ref,
        "filename": media.filename,
        "mimeType": media.mime_type,
    }


def media_from_payload(payload: dict[str, Any]) -> InboundMedia:
    return InboundMedia(
        kind=str(payload.get("kind") or "document"),
        ref=str(payload.get("ref") or ""),
        filename=str(payload.get("filename") or ""),
        mime_type=str(payload.get("mimeType") or ""),
    )


def _store_quietly(message: Message, media: InboundMedia) -> None:
    try:
        store_inbound_media(
            message=message,
            data=media.data or b"",
            filename=media.filename,
            mime_type=media.mime_type,
        )
    except ValidationFailed as exc:
        # The message stays, without this file; the reason is on the message.
        note_media_error(message=message, reason=exc.message)


def _apply_status(channel: Channel, event: InboundStatus, summary: InboundSummary) -> None:
    apply_provider_status(
        channel=channel,
        provider_message_id=event.provider_message_id,
        status=event.status,
        at=event.at,
        error_code=event.error_code,
        error_message=event.error_message,
    )
    summary.statuses += 1


def _apply_read_up_to(channel: Channel, event: InboundReadUpTo, summary: InboundSummary) -> None:
    """Mark our messages to the sender handed over by `event.at` as read (or delivered).

    The watermark is the provider's clock for its copy of a message, stamped
    while our send request was in flight: after we claimed it for delivery,
    before we recorded `sent_at`. So a message counts from its claim
    (`delivery_claimed_at`), or `sent_at` when it has none, or the very
    message the customer just read would be missed.
    """
    if event.status not in _BEFORE:
        raise ValidationFailed(f"Unknown watermark status {event.status!r}.", field="status")
    try:
        address = normalize_address(channel.type, event.sender)
    except AddressError as exc:
        raise ValidationFailed(str(exc), field="from") from exc
    contact_id = (
        ContactIdentifier.objects.filter(
            workspace_id=channel.workspace_id, channel_type=channel.type, value=address
        )
        .values_list("contact_id", flat=True)
        .first()
    )
    if contact_id is None:
        # Someone we never wrote to (or a deleted contact): nothing of ours to mark.
        raise ValidationFailed(f"No contact has the address {address!r} on this channel.")
    messages = list(
        Message.objects.filter(
            channel=channel,
            conversation__contact_id=contact_id,
            direction=Message.Direction.OUTBOUND,
            is_private=False,
            status__in=_BEFORE[event.status],
        )
        .alias(handed_over=Coalesce("delivery_claimed_at", "sent_at"))
        .filter(handed_over__lte=event.at)
        .order_by("-handed_over", "-id")[:READ_UP_TO_LIMIT]
    )
    # The receipt's own time when the provider gave it; the watermark bounds it.
    reported = max(event.reported_at, event.at) if event.reported_at else event.at
    for message in messages:
        # Never before it was sent, so the history reads in order.
        at = max(reported, message.sent_at) if message.sent_at else reported
        updated = update_message_status(message=message, status=event.status, at=at)
        if updated.status != message.status:
            summary.statuses += 1


def _apply_reaction(channel: Channel, event: InboundReaction, summary: InboundSummary) -> None:
    message = Message.objects.filter(
        channel=channel, provider_message_id=event.provider_message_id
    ).first()
    if message is None:
        raise ValidationFailed(f"No message with provider id {event.provider_message_id!r}.")
    try:
        address = normalize_address(channel.type, event.sender)
    except AddressError as exc:
        raise ValidationFailed(str(exc), field="from") from exc
    with transaction.atomic():
        contact, _ = find_or_create_contact(
            workspace=channel.workspace,
            channel_type=channel.type,
            address=address,
            name=event.sender_name,
        )
    if event.emoji:
        react_to_message(message=message, reaction=event.emoji, actor_contact=contact)
    else:
        # Platforms report a removal as an empty reaction, without saying which.
        live = Reaction.objects.filter(
            message=message, actor_contact=contact, removed_at__isnull=True
        ).values_list("emoji", flat=True)
        for emoji in list(live):
            react_to_message(
                message=message, reaction=emoji, operation="remove", actor_contact=contact
            )
    summary.reactions += 1


# --- Inbound files ------------------------------------------------------------------


def _safe_filename(filename: str, fallback: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._ -]+", "_", filename or "").strip(" .")[-120:]
    return name or fallback


def store_inbound_media(
    *, message: Message, data: bytes, filename: str = "", mime_type: str = ""
) -> Attachment:
    """Store a file a customer sent and make it the message's media.

    The type is sniffed from the bytes: known types are stored and served as
    themselves, anything else as application/octet-stream, so a customer's
    HTML file can never render on our domain. The storage write happens
    before, and outside, the transaction that records the attachment.
    """
    if not data:
        raise ValidationFailed("The provider sent an empty file.", field="media")
    if len(data) > INBOUND_MEDIA_MAX_BYTES:
        raise ValidationFailed(
            f"The file is {len(data)} bytes; files up to {INBOUND_MEDIA_MAX_BYTES} are kept.",
            field="media",
        )
    sniffed = _sniff(io.BytesIO(data))
    mime = sniffed if sniffed in _EXTENSIONS else "application/octet-stream"
    public_id = new_public_id("att")
    extension = _EXTENSIONS.get(mime, ".bin")
    content = ContentFile(data)
    content.content_type = mime  # type: ignore[attr-defined]
    stored = default_storage.save(
        f"attachments/{timezone.now():%Y/%m}/{public_id}{extension}", content
    )
    try:
        with transaction.atomic():
            locked = Message.objects.select_for_update().get(pk=message.pk)
            attachment = Attachment.objects.create(
                public_id=public_id,
                workspace_id=locked.workspace_id,
                message=locked,
                file=stored,
                filename=_safe_filename(filename, f"{public_id}{extension}"),
                mime_type=mime,
                size=len(data),
            )
            if locked.content.get("type") in MEDIA_CONTENT_TYPES and not locked.content.get("url"):
                locked.content = {**locked.content, "url": absolute_url(attachment.url)}
                if locked.content.get("type") == "document" and not locked.content.get("filename"):
                    locked.content["filename"] = attachment.filename
                locked.save(update_fields=["content", "updated_at"])
            fresh = load_message(locked.pk)
            data_out = message_resource(fresh)
            data_out["meta"] = {"change": "media.stored", "attachmentId": public_id}
            record_event(
                workspace=fresh.workspace,
                event="message.updated",
                data=data_out,
                conversation_public_id=fresh.conversation.public_id,
            )
    except Exception:
        default_storage.delete(stored)
        raise
    return attachment


def note_media_error(*, message: Message, reason: str) -> Message:
    """Record on the message that one of its files could not be fetched or kept."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        errors = list(locked.metadata.get("mediaErrors") or [])
        errors.append(reason[:500])
        locked.metadata = {**locked.metadata, "mediaErrors": errors[-10:]}
        locked.save(update_fields=["metadata", "updated_at"])
        fresh = load_message(locked.pk)
        record_event(
            workspace=fresh.workspace,
            event="message.updated",
            data={**message_resource(fresh), "meta": {"change": "media.failed"}},
            conversation_public_id=fresh.conversation.public_id,
        )
    return fresh


def fetch_and_store_media(*, message_pk: int, payload: dict[str, Any]) -> str:
    """Download a file the provider referenced and store it on the message.

    Answers "stored", "failed" (recorded on the message) or "retry" (a
    transient failure the task retries). Runs outside any transaction: the
    download may take seconds.
    """
    message = Message.objects.select_related("channel").filter(pk=message_pk).first()
    if message is None:
        return "failed"
    media = media_from_payload(payload)
    provider = provider_for(message.channel.type, message.channel.config)
    if provider is None or not hasattr(provider, "fetch_media"):
        note_media_error(message=message, reason="This channel cannot download media.")
        return "failed"
    try:
        fetched = provider.fetch_media(media, message.channel.config)
    except MediaFetchError as exc:
        if exc.retryable:
            logger.warning("media of message %s: %s (will retry)", message.public_id, exc.reason)
            return "retry"
        note_media_error(message=message, reason=exc.reason)
        return "failed"
    try:
        store_inbound_media(
            message=message,
            data=fetched.data,
            filename=fetched.filename or media.filename,
            mime_type=fetched.mime_type or media.mime_type,
        )
    except ValidationFailed as exc:
        note_media_error(message=message, reason=exc.message)
        return "failed"
    return "stored"
