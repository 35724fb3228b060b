"""Reactions on messages: an agent's or a contact's emoji or tapback."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.providers.base import OutboundReaction, SendResult
from channels_app.providers.registry import provider_for
from inbox.errors import ValidationFailed
from inbox.models import User
from messaging.events import record_event
from messaging.models import Contact, Message, Reaction
from messaging.representations import message_resource

# Tapback names (Linq) and the emoji each one shows as.
TAPBACK_EMOJI = {
    "love": "❤️",
    "like": "👍",
    "dislike": "👎",
    "laugh": "😂",
    "emphasize": "‼️",
    "question": "❓",
}
MAX_EMOJI_LENGTH = 32


def _normalise(reaction: str) -> tuple[str, str]:
    """(emoji, tapback kind) for a tapback name or an emoji."""
    if not isinstance(reaction, str) or not reaction.strip():
        raise ValidationFailed("Give an emoji or a tapback name.", field="type")
    value = reaction.strip()
    if value in TAPBACK_EMOJI:
        return TAPBACK_EMOJI[value], value
    if len(value) > MAX_EMOJI_LENGTH or value.isascii():
        raise ValidationFailed(
            "Must be an emoji or one of love, like, dislike, laugh, emphasize, question.",
            field="type",
        )
    kind = next((k for k, e in TAPBACK_EMOJI.items() if e == value), "")
    return value, kind


def react_to_message(
    *,
    message: Message,
    reaction: str,
    operation: str = "add",
    actor_user: User | None = None,
    actor_contact: Contact | None = None,
) -> Reaction | None:
    """Add or remove a reaction. Adding twice is a no-op; returns the reaction.

    The actor is an agent, a contact, or neither: the workspace itself, as
    when an integration reacts with an API key.
    """
    if operation not in ("add", "remove"):
        raise ValidationFailed("Must be 'add' or 'remove'.", field="operation")
    if actor_user is not None and actor_contact is not None:
        raise ValueError("a reaction has one actor")
    if message.deleted_at is not None:
        raise ValidationFailed("Deleted messages cannot be reacted to.")
    emoji, kind = _normalise(reaction)
    actor_type = Reaction.Actor.CONTACT if actor_contact else Reaction.Actor.AGENT
    live = Reaction.objects.filter(
        message=message,
        emoji=emoji,
        actor_type=actor_type,
        actor_user=actor_user,
        actor_contact=actor_contact,
        removed_at__isnull=True,
    )
    with transaction.atomic():
        existing = live.select_for_update().first()
        if operation == "remove":
            if existing is None:
                return None
            existing.removed_at = timezone.now()
            existing.save(update_fields=["removed_at"])
            result = existing
        elif existing is not None:
            return existing
        else:
            try:
                with transaction.atomic():
                    result = Reaction.objects.create(
                        workspace_id=message.workspace_id,
                        message=message,
                        emoji=emoji,
                        kind=kind,
                        actor_type=actor_type,
                        actor_user=actor_user,
                        actor_contact=actor_contact,
                    )
            except IntegrityError:  # the same reaction landed concurrently
                return live.first()
        fresh = (
            Message.objects.select_related("workspace", "conversation", "channel", "reply_to")
            .prefetch_related("attachments", "reactions__actor_user", "reactions__actor_contact")
            .get(pk=message.pk)
        )
        data = message_resource(fresh)
        data["meta"] = {"change": f"reaction.{operation}", "reactionId": result.public_id}
        record_event(
            workspace=fresh.workspace,
            event="message.updated",
            data=data,
            conversation_public_id=fresh.conversation.public_id,
        )
        if actor_contact is None and fresh.provider_message_id:
            # Ours (an agent's or the workspace's): the customer should see it too.
            reaction_pk = result.pk
            transaction.on_commit(lambda: _queue_push(reaction_pk, operation))
    return result


def _queue_push(reaction_pk: int, operation: str) -> None:
    from messaging.tasks import push_reaction_task

    push_reaction_task.delay(reaction_pk, operation)


def push_reaction(*, reaction_pk: int, operation: str) -> SendResult | None:
    """Call the provider's `react` for one of our reactions; None when it cannot."""
    reaction = Reaction.objects.select_related("message__channel").get(pk=reaction_pk)
    message = reaction.message
    provider = provider_for(message.channel.type, message.channel.config)
    react = getattr(provider, "react", None) if provider is not None else None
    if react is None or not message.provider_message_id:
        return None
    # The contact's address: ours for an inbound message is its `from`.
    to = message.from_address if message.direction == "inbound" else message.to_address
    return react(
        OutboundReaction(
            channel_type=message.channel.type,
            config=message.channel.config,
            to=to,
            external_id=message.provider_message_id,
            emoji=reaction.emoji,
            operation=operation,
        )
    )
