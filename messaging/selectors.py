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
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.fields.json import KT

from channels_app.models import Channel
from inbox.errors import ValidationFailed
from inbox.models import Membership, User, Workspace
from messaging.errors import (
    ChannelNotFound,
    ContactNotFound,
    ConversationNotFound,
    MessageNotFound,
)
from messaging.models import (
    Attachment,
    Contact,
    ContactIdentifier,
    Conversation,
    Message,
    OutboxEvent,
    Reaction,
    WebhookDelivery,
    WebhookEndpoint,
)
from messaging.webhooks.errors import DeliveryNotFound, WebhookNotFound


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
    # `conversations_for` joins what `conversation_resource` renders; the
    # workspace too, because services and the thread read `conversation.workspace`.
    conversation = (
        conversations_for(workspace).select_related("workspace").filter(public_id=public_id).first()
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
            # The plain range on created_at is what the index scan starts
            # from; the OR only breaks ties within the cursor's timestamp.
            base = base.filter(created_at__gte=at).filter(
                Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk)
            )
        rows = list(base.order_by("created_at", "id")[: limit + 1])
        has_more = len(rows) > limit
        return rows[:limit], has_more
    if cursor is not None:
        at, pk = cursor
        base = base.filter(created_at__lte=at).filter(
            Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk)
        )
    rows = list(base.order_by("-created_at", "-id")[: limit + 1])
    has_more = len(rows) > limit
    return list(reversed(rows[:limit])), has_more


def pick(params: Any, name: str) -> str | None:
    value = params.get(name)
    return value if value not in (None, "") else None


def contacts_for(workspace: Workspace) -> QuerySet[Contact]:
    """A workspace's contacts, ready for `representations.contact_resource`.

    Identifiers come in one prefetch query and `conversation_count` is an
    annotation on the page query, so a page costs the same whatever its size.
    """
    return (
        Contact.objects.filter(workspace=workspace)
        .prefetch_related(
            Prefetch(
                "identifiers",
                queryset=ContactIdentifier.objects.order_by("channel_type", "value"),
            )
        )
        .annotate(conversation_count=Count("conversations"))
    )


def get_contact_detail_for(workspace: Workspace, public_id: str) -> Contact:
    """`get_contact_for` with what the API renders (identifiers, conversation count)."""
    contact = contacts_for(workspace).filter(public_id=public_id).first()
    if contact is None:
        raise ContactNotFound(f"Contact {public_id} does not exist.")
    return contact


# --- Conversations --------------------------------------------------------------


def conversations_for(workspace: Workspace) -> QuerySet[Conversation]:
    """A workspace's conversations, ready for `representations.conversation_resource`.

    Everything the renderer reads is joined here (the preview message comes
    from the denormalised `last_message` FK, not a subquery), so a page costs
    one query whatever its size. The agent inbox lists through this too.
    """
    return Conversation.objects.filter(workspace=workspace).select_related(
        "channel", "contact", "assignee", "last_message", "closed_by"
    )


def get_agent_for(workspace: Workspace, public_id: str, *, field: str = "assigneeId") -> User:
    """An agent (member) of `workspace` named in a request body.

    Unknown ids and agents of other workspaces get the same 400 naming the
    body field, so membership elsewhere cannot be probed.
    """
    user = (
        User.objects.filter(public_id=public_id, memberships__workspace=workspace).first()
        if isinstance(public_id, str) and public_id
        else None
    )
    if user is None:
        raise ValidationFailed(f"No agent {public_id} in this workspace.", field=field)
    return user


def conversation_participants(conversation: Conversation) -> list[User]:
    """The agents who took part in a conversation, each with `.role` in its workspace.

    Who took part: senders of its messages, its assignee, and everyone it was
    ever assigned to. Past assignments are read from the conversation's
    `conversation.assigned`/`.transferred` outbox events, the only record of
    them. One query, ordered by name.
    """
    sent = Message.objects.filter(conversation=conversation, sender_user__isnull=False).values(
        "sender_user_id"
    )
    past_assignees = OutboxEvent.objects.filter(
        workspace_id=conversation.workspace_id,
        conversation_public_id=conversation.public_id,
        event__in=("conversation.assigned", "conversation.transferred"),
    ).values(assignee_public_id=KT("data__attributes__assigneeId"))
    involved = Q(pk__in=sent) | Q(public_id__in=past_assignees)
    if conversation.assignee_id:
        involved |= Q(pk=conversation.assignee_id)
    role = Membership.objects.filter(
        workspace_id=conversation.workspace_id, user=OuterRef("pk")
    ).values("role")[:1]
    return list(
        User.objects.filter(involved)
        .annotate(role=Subquery(role))
        .order_by("display_name", "email", "pk")
    )


# --- Webhooks ----------------------------------------------------------------------


def webhooks_for(workspace: Workspace) -> QuerySet[WebhookEndpoint]:
    """A workspace's webhook endpoints, newest first; call `attach_webhook_stats` on a page."""
    return WebhookEndpoint.objects.filter(workspace=workspace).order_by("-created_at", "-id")


def get_webhook_for(workspace: Workspace, public_id: str) -> WebhookEndpoint:
    webhook = (
        webhooks_for(workspace).select_related("workspace").filter(public_id=public_id).first()
    )
    if webhook is None:
        raise WebhookNotFound(f"Webhook {public_id} does not exist.")
    return webhook


def webhook_deliveries_for(webhook: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """An endpoint's delivery log, newest first (index `whdel_endpoint_log`)."""
    return WebhookDelivery.objects.filter(endpoint=webhook).order_by("-id")


def get_webhook_delivery_for(webhook: WebhookEndpoint, public_id: str) -> WebhookDelivery:
    """A delivery of this endpoint; the endpoint was itself found for the workspace."""
    delivery = (
        webhook_deliveries_for(webhook)
        .select_related("endpoint", "workspace")
        .filter(public_id=public_id)
        .first()
    )
    if delivery is None:
        raise DeliveryNotFound(f"Delivery {public_id} does not exist.")
    return delivery


def attach_webhook_stats(webhooks: list[WebhookEndpoint]) -> list[WebhookEndpoint]:
    """Set `delivery_counts` and `last_delivery` on each endpoint, in two queries for the page.

    One aggregate over the page's deliveries grouped by endpoint, and one query
    for each endpoint's newest delivery (a correlated subquery on the
    `whdel_endpoint_log` index picks its id).
    """
    if not webhooks:
        return webhooks
    ids = [w.pk for w in webhooks]
    Status = WebhookDelivery.Status
    counts = {
        row["endpoint_id"]: row
        for row in WebhookDelivery.objects.filter(endpoint_id__in=ids)
        .order_by()
        .values("endpoint_id")
        .annotate(
            total=Count("pk"),
            succeeded=Count("pk", filter=Q(status=Status.SUCCEEDED)),
            failed=Count("pk", filter=Q(status=Status.FAILED)),
        )
    }
    newest = WebhookDelivery.objects.filter(endpoint_id=OuterRef("pk")).order_by("-id")
    last = {
        d.endpoint_id: d
        for d in WebhookDelivery.objects.filter(
            pk__in=Subquery(
                WebhookEndpoint.objects.filter(pk__in=ids)
                .annotate(last_pk=Subquery(newest.values("pk")[:1]))
                .exclude(last_pk=None)
                .values("last_pk")
            )
        ).only(
            "public_id",
            "endpoint_id",
            "event",
            "status",
            "response_status_code",
            "created_at",
            "last_attempt_at",
        )
    }
    empty = {"total": 0, "succeeded": 0, "failed": 0}
    for webhook in webhooks:
        webhook.delivery_counts = counts.get(webhook.pk, empty)
        webhook.last_delivery = last.get(webhook.pk)
    return webhooks
