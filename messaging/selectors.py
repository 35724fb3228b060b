"""Every tenant-scoped read of the conversation domain.

Detail lookups are the `get_<thing>_for(workspace, public_id)` family: a
missing row and another workspace's row raise the same NotFound, so ids of
other tenants cannot be probed. List querysets select and prefetch what
`messaging.representations` renders, so a page costs the same number of
queries whatever its size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from channels_app.models import Channel
from inbox.models import Workspace
from messaging.errors import (
    ChannelNotFound,
    ContactNotFound,
    ConversationNotFound,
    MessageNotFound,
)
from messaging.models import Attachment, Contact, Conversation, Message, Reaction


def messages_for(workspace: Workspace) -> QuerySet[Message]:
    """Visible (not deleted) messages of a workspace, ready to render."""
    return (
        Message.objects.filter(workspace=workspace, deleted_at__isnull=True)
        .select_related("conversation", "channel", "reply_to")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "id")),
            Prefetch(
                "reactions",
                queryset=Reaction.objects.filter(removed_at__isnull=True).select_related(
                    "actor_user", "actor_contact"
                ),
            ),
        )
    )


def get_message_for(workspace: Workspace, public_id: str) -> Message:
    message = messages_for(workspace).filter(public_id=public_id).first()
    if message is None:
        raise MessageNotFound(f"Message {public_id} does not exist.")
    return message


def get_conversation_for(workspace: Workspace, public_id: str) -> Conversation:
    conversation = (
        Conversation.objects.select_related("workspace", "channel", "contact", "assignee")
        .filter(workspace=workspace, public_id=public_id)
        .first()
    )
    if conversation is None:
        raise ConversationNotFound(f"Conversation {public_id} does not exist.")
    return conversation


def get_channel_for(workspace: Workspace, public_id: str) -> Channel:
    channel = (
        Channel.objects.select_related("workspace")
        .filter(workspace=workspace, public_id=public_id)
        .first()
    )
    if channel is None:
        raise ChannelNotFound(f"Channel {public_id} does not exist.")
    return channel


def get_contact_for(workspace: Workspace, public_id: str) -> Contact:
    contact = Contact.objects.filter(workspace=workspace, public_id=public_id).first()
    if contact is None:
        raise ContactNotFound(f"Contact {public_id} does not exist.")
    return contact


def search_messages(queryset: QuerySet[Message], text: str) -> QuerySet[Message]:
    """Full-text on PostgreSQL (GIN index `msg_text_search`), substring elsewhere."""
    text = text.strip()
    if not text:
        return queryset
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        return queryset.annotate(_search=SearchVector("text", config="simple")).filter(
            _search=SearchQuery(text, config="simple", search_type="websearch")
        )
    return queryset.filter(text__icontains=text)


def thread_page(
    conversation: Conversation,
    *,
    limit: int,
    cursor: tuple[datetime, int] | None,
    direction: str,
) -> tuple[list[Message], bool]:
    """A keyset page of a conversation's thread, in chronological order.

    `before` walks back from the cursor (or from the newest message), `after`
    forward from it. The key (created_at, id) only grows, so messages that
    arrive while a client pages never shift or repeat its pages. Answers the
    page and whether more lie beyond it.
    """
    base = messages_for(conversation.workspace).filter(conversation=conversation)
    if direction == "after":
        if cursor is not None:
            at, pk = cursor
            base = base.filter(Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk))
        rows = list(base.order_by("created_at", "id")[: limit + 1])
        has_more = len(rows) > limit
        return rows[:limit], has_more
    if cursor is not None:
        at, pk = cursor
        base = base.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
    rows = list(base.order_by("-created_at", "-id")[: limit + 1])
    has_more = len(rows) > limit
    return list(reversed(rows[:limit])), has_more


def pick(params: Any, name: str) -> str | None:
    value = params.get(name)
    return value if value not in (None, "") else None
