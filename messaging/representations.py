"""The resources as the API renders them, shared by the API, events and webhooks.

Plain functions over already-loaded rows: callers fetch through the
selectors, which select and prefetch everything used here, so rendering a
page of rows runs no further queries.
"""

from __future__ import annotations

from typing import Any

from inbox.links import absolute_url
from inbox.timefmt import iso
from messaging.models import (
    Attachment,
    Contact,
    ContactIdentifier,
    Conversation,
    Message,
    Reaction,
)


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


def contact_identifier_data(identifier: ContactIdentifier) -> dict[str, Any]:
    return {
        "channelType": identifier.channel_type,
        "value": identifier.value,
        "createdAt": iso(identifier.created_at),
    }


def contact_resource(contact: Contact) -> dict[str, Any]:
    """A contact as the API and its events render it.

    Expects a row from `selectors.contacts_for`: `identifiers` prefetched and
    `conversation_count` annotated, so a page of contacts costs no extra query.
    """
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
            "identifiers": [contact_identifier_data(i) for i in contact.identifiers.all()],
            "conversationCount": contact.conversation_count,
            "createdAt": iso(contact.created_at),
            "updatedAt": iso(contact.updated_at),
        },
    }


def _user_ref(user: Any) -> dict[str, Any]:
    return {"id": user.public_id, "type": "user", "name": user.name}


def conversation_resource(conversation: Conversation) -> dict[str, Any]:
    """A conversation as the API renders it (list, detail, and the agent inbox).

    Expects a row from `selectors.conversations_for`: channel, contact,
    assignee, last message and closer joined, so rendering runs no query.
    Lifecycle fields (`snoozedUntil`, `closedAt`, ...) appear only once set.
    """
    channel = conversation.channel
    contact = conversation.contact
    last = conversation.last_message
    attributes: dict[str, Any] = {
        "status": conversation.status,
        "priority": conversation.priority,
        "channel": {"id": channel.public_id, "type": channel.type, "name": channel.name},
        "contact": {
            "id": contact.public_id,
            "name": contact.name,
            "phone": contact.phone or None,
            "email": contact.email or None,
            "avatar": contact.avatar_url or None,
        },
        "assignee": _user_ref(conversation.assignee) if conversation.assignee_id else None,
        "lastMessage": (
            {
                "id": last.public_id,
                "content": last.content,
                "direction": last.direction,
                "timestamp": iso(last.created_at),
            }
            if last is not None
            else None
        ),
        "unreadCount": conversation.unread_count,
        "messageCount": conversation.message_count,
        "firstMessageAt": iso(conversation.first_message_at),
        "lastMessageAt": iso(conversation.last_message_at),
        "metadata": conversation.metadata,
        "tags": conversation.tags,
        "createdAt": iso(conversation.created_at),
        "updatedAt": iso(conversation.updated_at),
    }
    optional = {
        "assignedAt": iso(conversation.assigned_at),
        "snoozedUntil": iso(conversation.snoozed_until),
        "closedAt": iso(conversation.closed_at),
        "closedBy": _user_ref(conversation.closed_by) if conversation.closed_by_id else None,
        "resolution": conversation.resolution or None,
        "closureReason": conversation.closure_reason or None,
        "reopenedAt": iso(conversation.reopened_at),
    }
    attributes.update({key: value for key, value in optional.items() if value is not None})
    return {"id": conversation.public_id, "type": "conversation", "attributes": attributes}


def conversation_participants_data(conversation: Conversation, agents: list[Any]) -> list[dict]:
    """The contact, then each agent (from `selectors.conversation_participants`)."""
    contact = conversation.contact
    people = [
        {
            "id": contact.public_id,
            "type": "contact",
            "attributes": {
                "name": contact.name,
                "phone": contact.phone or None,
                "email": contact.email or None,
                "role": "contact",
            },
        }
    ]
    people += [
        {
            "id": agent.public_id,
            "type": "user",
            "attributes": {"name": agent.name, "email": agent.email, "role": agent.role},
        }
        for agent in agents
    ]
    return people
