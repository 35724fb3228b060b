"""The resources as the API renders them, shared by the API, events and webhooks.

Plain functions over already-loaded rows: callers fetch through the
selectors, which select and prefetch everything used here, so rendering a
page of rows runs no further queries.
"""

from __future__ import annotations

from typing import Any

from inbox.links import absolute_url
from inbox.timefmt import iso
from messaging.models import Attachment, Conversation, Message, Reaction


def attachment_data(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.public_id,
        "url": absolute_url(attachment.url),
        "filename": attachment.filename,
        "mimeType": attachment.mime_type,
        "size": attachment.size,
    }


def reaction_data(reaction: Reaction) -> dict[str, Any]:
    if reaction.actor_type == Reaction.Actor.AGENT:
        sender = reaction.actor_user.public_id if reaction.actor_user_id else None
    else:
        sender = reaction.actor_contact.public_id if reaction.actor_contact_id else None
    return {
        "id": reaction.public_id,
        "type": reaction.kind or reaction.emoji,
        "emoji": reaction.emoji,
        "isFromMe": reaction.actor_type == Reaction.Actor.AGENT,
        "from": sender,
        "createdAt": iso(reaction.created_at),
    }


def message_attributes(message: Message) -> dict[str, Any]:
    return {
        "conversationId": message.conversation.public_id,
        "channelId": message.channel.public_id,
        "channelType": message.channel.type,
        "direction": message.direction,
        "senderType": message.sender_type,
        "from": message.from_address,
        "to": message.to_address,
        "content": message.content,
        "status": message.status,
        "statusHistory": message.status_history,
        "metadata": message.metadata,
        "externalId": message.provider_message_id,
        "isPrivate": message.is_private,
        "replyToId": message.reply_to.public_id if message.reply_to_id else None,
        "failureCode": message.failure_code or None,
        "failureReason": message.failure_reason or None,
        "scheduledAt": iso(message.scheduled_at),
        "createdAt": iso(message.created_at),
        "sentAt": iso(message.sent_at),
        "deliveredAt": iso(message.delivered_at),
        "readAt": iso(message.read_at),
        "editedAt": iso(message.edited_at),
        "deletedAt": iso(message.deleted_at),
        "reactions": [reaction_data(r) for r in message.reactions.all() if r.removed_at is None],
        "attachments": [attachment_data(a) for a in message.attachments.all()],
    }


def message_resource(message: Message) -> dict[str, Any]:
    return {"id": message.public_id, "type": "message", "attributes": message_attributes(message)}


def conversation_summary(conversation: Conversation) -> dict[str, Any]:
    """A compact rendering for events; the API's full shape lives with its selector."""
    return {
        "id": conversation.public_id,
        "type": "conversation",
        "attributes": {
            "status": conversation.status,
            "priority": conversation.priority,
            "channelId": conversation.channel.public_id,
            "contactId": conversation.contact.public_id,
            "assigneeId": conversation.assignee.public_id if conversation.assignee_id else None,
            "unreadCount": conversation.unread_count,
            "messageCount": conversation.message_count,
            "tags": conversation.tags,
            "snoozedUntil": iso(conversation.snoozed_until),
            "closedAt": iso(conversation.closed_at),
            "resolution": conversation.resolution or None,
            "lastMessageAt": iso(conversation.last_message_at),
            "updatedAt": iso(conversation.updated_at),
        },
    }
