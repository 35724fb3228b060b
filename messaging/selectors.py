"""Every tenant-scoped read of the conversation domain.

Detail lookups are the `get_<thing>_for(workspace, public_id)` family: a
missing row and another workspace's row raise the same NotFound, so ids of
other tenants cannot be probed. List querysets select and prefetch what
`messaging.representations` renders, so a page costs the same number of
queries whatever its size.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.utils.dateparse import parse_datetime

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


# --- Agent inbox: the conversation list ---------------------------------------------

INBOX_TABS = ("mine", "unassigned", "all")
INBOX_SORTS = ("activity", "waiting", "created", "priority")
INBOX_STATUSES = tuple(Conversation.Status.values)


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox list is narrowed to, before the Mine/Unassigned/All tab.

    `status` None means every status. `channel` is a channel's public id and
    `label` one conversation tag. Everything here lands in the one list query
    (and the one counts query): search and tag are predicates and subqueries,
    never Python lists of ids.
    """

    status: str | None = Conversation.Status.OPEN
    channel: str | None = None
    label: str | None = None
    priority: str | None = None
    q: str = ""
    sort: str = "activity"


def inbox_conversations(workspace: Workspace, filters: InboxFilters) -> QuerySet[Conversation]:
    """A workspace's conversations narrowed by `filters`, joined for the list rows.

    The tab is applied separately (`inbox_tab`), so the same queryset also
    feeds `inbox_tab_counts`. `sort="waiting"` keeps only conversations whose
    newest message is the contact's: the ones waiting for an answer.
    """
    # Imported here: the API's filters import this module. One definition of
    # the tag predicate (JSON containment / json_each) serves both.
    from messaging.api.conversation_filters import with_tag

    queryset = conversations_for(workspace)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.channel:
        queryset = queryset.filter(channel__public_id=filters.channel)
    if filters.priority:
        queryset = queryset.filter(priority=filters.priority)
    if filters.label:
        queryset = with_tag(queryset, filters.label)
    text = filters.q.strip()
    if text:
        # Message text through the shared search (full-text GIN index on
        # PostgreSQL), as a correlated EXISTS inside the list query. Not
        # `pk IN (subquery)`: under the OR, PostgreSQL can only hash an IN
        # list that fits work_mem, and a common word's matches (~290,000 of
        # 1M messages for "order" in bench/inbox_pages.py) do not, so it
        # rescanned the materialised list once per conversation: minutes per
        # search. EXISTS gives the planner both shapes: a hashed set of a rare
        # word's few matches (through `msg_text_search`), or a probe of each
        # conversation's own messages that stops at the first match.
        matching = search_messages(
            Message.objects.filter(
                workspace=workspace, conversation=OuterRef("pk"), deleted_at__isnull=True
            ),
            text,
        )
        queryset = queryset.filter(
            Q(contact__name__icontains=text)
            | Q(contact__phone__icontains=text)
            | Q(contact__email__icontains=text)
            | Exists(matching)
        )
    if filters.sort == "waiting":
        queryset = queryset.filter(last_message__direction=Message.Direction.INBOUND)
    return queryset


def inbox_tab(queryset: QuerySet[Conversation], tab: str, user: User) -> QuerySet[Conversation]:
    if tab == "mine":
        return queryset.filter(assignee=user)
    if tab == "unassigned":
        return queryset.filter(assignee__isnull=True)
    return queryset


def inbox_tab_counts(queryset: QuerySet[Conversation], user: User) -> dict[str, int]:
    """Mine / Unassigned / All over the filtered list, in one conditional aggregate."""
    return queryset.order_by().aggregate(
        mine=Count("pk", filter=Q(assignee=user)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        all=Count("pk"),
    )


def unread_conversation_count(workspace: Workspace, user: User) -> int:
    """Active conversations with unread messages that are the agent's or nobody's yet.

    The `(N)` in the inbox's tab title: what this agent has to look at.
    """
    return (
        Conversation.objects.filter(
            workspace=workspace,
            status__in=Conversation.ACTIVE_STATUSES,
            unread_count__gt=0,
        )
        .filter(Q(assignee=user) | Q(assignee__isnull=True))
        .count()
    )


def agents_for(workspace: Workspace) -> QuerySet[User]:
    """The members of a workspace, by name (assignment pickers)."""
    return User.objects.filter(memberships__workspace=workspace, is_active=True).order_by(
        "display_name", "email", "pk"
    )


# Keyset pagination of the list. Each sort is a list of (field, descending,
# kind) keys, then the id in the last key's direction. NULL counts as larger
# than every value, PostgreSQL's own rule, so `DESC` puts NULLs first and
# `ASC` last on both databases, and the `(workspace, status, -last_message_at)`
# index serves the default sort in either direction.
_SortKey = tuple[str, bool, str]
INBOX_SORT_KEYS: dict[str, list[_SortKey]] = {
    "activity": [("last_message_at", True, "dt")],
    "waiting": [("last_message_at", False, "dt")],
    "created": [("created_at", True, "dt")],
    "priority": [("_priority_rank", True, "int"), ("last_message_at", True, "dt")],
}


def _beyond(field: str, descending: bool, value: Any) -> Q:
    """Rows strictly after `value` on one key, with NULL as the largest value."""
    if value is None:
        # After NULL in DESC: every non-NULL; nothing comes after NULL in ASC.
        return Q(**{f"{field}__isnull": False}) if descending else Q(pk__in=[])
    if descending:
        return Q(**{f"{field}__lt": value})
    return Q(**{f"{field}__gt": value}) | Q(**{f"{field}__isnull": True})


def _same(field: str, value: Any) -> Q:
    return Q(**{f"{field}__isnull": True}) if value is None else Q(**{field: value})


def inbox_page(
    queryset: QuerySet[Conversation],
    *,
    sort: str,
    after: list[Any] | None,
    limit: int,
) -> tuple[list[Conversation], list[Any] | None]:
    """One page of the list after the keyset position `after`; one query.

    Answers the rows and the key of the last row when more follow (the next
    page starts there), else None. Keys only compare values of the sort, so a
    conversation that moves while the agent scrolls may show twice or be
    skipped, never break the page.
    """
    from messaging.api.conversation_filters import PRIORITY_RANK

    keys = INBOX_SORT_KEYS[sort]
    descending = keys[-1][1]
    if sort == "priority":
        queryset = queryset.annotate(_priority_rank=PRIORITY_RANK)
    order = [
        F(field).desc(nulls_first=True) if desc else F(field).asc(nulls_last=True)
        for field, desc, _ in keys
    ]
    order.append(F("pk").desc() if descending else F("pk").asc())
    if after is not None:
        *values, pk = after
        condition = Q(pk__lt=pk) if descending else Q(pk__gt=pk)
        # Lexicographic "after": walk the keys from the last to the first.
        for (field, desc, _), value in reversed(list(zip(keys, values, strict=True))):
            condition = _beyond(field, desc, value) | (_same(field, value) & condition)
        queryset = queryset.filter(condition)
    rows = list(queryset.order_by(*order)[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, [getattr(last, field) for field, _, _ in keys] + [last.pk]


def encode_inbox_cursor(sort: str, key: list[Any]) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    raw = json.dumps(values, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_inbox_cursor(sort: str, cursor: str) -> list[Any] | None:
    """The keyset position of `cursor` for `sort`; None when it is not one of ours."""
    kinds = [kind for _, _, kind in INBOX_SORT_KEYS[sort]] + ["int"]
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(kinds):
            return None
        decoded: list[Any] = []
        for kind, value in zip(kinds, values, strict=True):
            if value is None and kind == "dt":
                decoded.append(None)
            elif kind == "dt" and isinstance(value, str) and parse_datetime(value):
                decoded.append(parse_datetime(value))
            elif kind == "int" and isinstance(value, int) and not isinstance(value, bool):
                decoded.append(value)
            else:
                return None
    except (ValueError, TypeError, json.JSONDecodeError):
        return None
    if decoded[-1] is None:
        return None
    return decoded


# --- Agent inbox: the conversation page -------------------------------------------------

# The conversation events the thread shows between its messages. A
# `conversation.updated` counts only for the lifecycle changes its `meta.change`
# names; the others (priority, tags, read) change no timeline.
TIMELINE_EVENTS = (
    "conversation.created",
    "conversation.assigned",
    "conversation.transferred",
    "conversation.closed",
    "conversation.reopened",
)
TIMELINE_UPDATE_CHANGES = ("snoozed", "unsnoozed", "status")


def inbox_thread_messages(conversation: Conversation) -> QuerySet[Message]:
    """A conversation's messages as the inbox thread renders them, deleted ones included.

    Unlike the API's thread (`messages_for`), a deleted message keeps its
    place, rendered as a "This message was deleted" marker. The sender agent
    and the replied-to message are joined; attachments and live reactions
    come in one prefetch query each.
    """
    return (
        Message.objects.filter(workspace_id=conversation.workspace_id, conversation=conversation)
        .select_related("sender_user", "reply_to")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "id")),
            Prefetch(
                "reactions",
                queryset=Reaction.objects.filter(removed_at__isnull=True).order_by(
                    "created_at", "id"
                ),
            ),
        )
    )


def inbox_thread_page(
    conversation: Conversation,
    *,
    limit: int,
    before: tuple[datetime, int] | None = None,
    after: tuple[datetime, int] | None = None,
) -> tuple[list[Message], bool]:
    """A keyset page of the inbox thread on (created_at, id), oldest first.

    With `after`, the messages that follow that key (catching up after a
    dropped connection); otherwise the newest `limit` messages before
    `before` (or the newest of all). Answers the rows and whether more lie
    beyond them in the direction walked. Three queries (rows, attachments,
    reactions) whatever the page size.
    """
    base = inbox_thread_messages(conversation)
    if after is not None:
        at, pk = after
        base = base.filter(created_at__gte=at).filter(
            Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk)
        )
        rows = list(base.order_by("created_at", "id")[: limit + 1])
        return rows[:limit], len(rows) > limit
    if before is not None:
        at, pk = before
        base = base.filter(created_at__lte=at).filter(
            Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk)
        )
    rows = list(base.order_by("-created_at", "-id")[: limit + 1])
    return list(reversed(rows[:limit])), len(rows) > limit


def get_thread_message_for(conversation: Conversation, public_id: str) -> Message:
    """One message of this conversation (deleted ones too), as the thread renders it.

    A message of another conversation or workspace is the same NotFound as a
    missing one.
    """
    message = inbox_thread_messages(conversation).filter(public_id=public_id).first()
    if message is None:
        raise MessageNotFound(f"Message {public_id} does not exist.")
    return message


def conversation_timeline_events(
    conversation: Conversation,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[OutboxEvent]:
    """The conversation's lifecycle events (assigned, closed, snoozed...) in a time window.

    `since` is inclusive and `until` exclusive, so consecutive thread pages
    split the events between them without repeating one. One query on the
    `outbox_conversation` index, in the order they happened.
    """
    events = OutboxEvent.objects.filter(
        conversation_public_id=conversation.public_id,
        workspace_id=conversation.workspace_id,
    ).filter(
        Q(event__in=TIMELINE_EVENTS)
        | Q(event="conversation.updated", data__meta__change__in=TIMELINE_UPDATE_CHANGES)
    )
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    return list(events.order_by("created_at", "id"))


def contact_identifiers(contact: Contact) -> list[ContactIdentifier]:
    """The contact's address on each channel type, by type then value: one query."""
    return list(ContactIdentifier.objects.filter(contact=contact).order_by("channel_type", "value"))


def contact_conversations(contact: Contact, *, limit: int, exclude: str = "") -> list[Conversation]:
    """The contact's most recent conversations, newest activity first: one query.

    For the inbox's contact sidebar (links, status, last activity); `exclude`
    is the public id of the conversation the sidebar sits next to.
    """
    queryset = Conversation.objects.filter(workspace_id=contact.workspace_id, contact=contact)
    if exclude:
        queryset = queryset.exclude(public_id=exclude)
    return list(
        queryset.select_related("channel").order_by(
            F("last_message_at").desc(nulls_last=True), "-id"
        )[:limit]
    )
