"""Query filters and sorting of `GET /conversations` (django-filter), with the contract's names.

Every filter narrows the one page query; `search` and `tag` stay inside it as
subqueries/predicates, so filtering never adds a query.
"""

from __future__ import annotations

import django_filters
from django.db import connection
from django.db.models import BooleanField, Case, F, IntegerField, OrderBy, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL

from channels_app.models import Channel
from inbox.errors import ValidationFailed
from inbox.models import User, Workspace
from messaging.models import Conversation, Message
from messaging.selectors import search_messages

SORT_FIELDS = ("updatedAt", "createdAt", "lastMessageAt", "priority")
# Priorities sort by urgency, not alphabetically.
PRIORITY_RANK = Case(
    *(
        When(priority=value, then=Value(rank))
        for rank, value in enumerate(Conversation.Priority.values)
    ),
    default=Value(0),
    output_field=IntegerField(),
)
ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "none"
ME_NEEDS_AGENT_TOKEN = (
    "`me` means the calling agent and needs an agent access token; "
    "with an API key, pass the agent's user_... id."
)


def with_tag(queryset: QuerySet[Conversation], tag: str) -> QuerySet[Conversation]:
    """Conversations whose `tags` list holds exactly `tag`.

    PostgreSQL answers JSON containment (`@>`); SQLite has no `contains` on
    JSON fields, so it looks through `json_each`. Both stay in the one query.
    """
    if connection.vendor == "postgresql":
        return queryset.filter(tags__contains=[tag])
    # The tag is a bound parameter; the SQL around it is a constant.
    return queryset.filter(
        RawSQL(
            'EXISTS (SELECT 1 FROM json_each("messaging_conversation"."tags") '
            "WHERE json_each.value = %s)",
            (tag,),
            output_field=BooleanField(),
        )
    )


class ConversationFilter(django_filters.FilterSet):
    """Give `workspace` (scopes the message search) and `me`, the calling agent.

    `me` is None for API keys; `assigneeId=me` then answers 400.
    """

    status = django_filters.ChoiceFilter(choices=Conversation.Status.choices)
    priority = django_filters.ChoiceFilter(choices=Conversation.Priority.choices)
    channelId = django_filters.CharFilter(field_name="channel__public_id", max_length=40)
    channelType = django_filters.ChoiceFilter(
        field_name="channel__type", choices=Channel.Type.choices
    )
    contactId = django_filters.CharFilter(field_name="contact__public_id", max_length=40)
    assigneeId = django_filters.CharFilter(method="filter_assignee", max_length=40)
    startDate = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    endDate = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    tag = django_filters.CharFilter(method="filter_tag", max_length=64)
    sortBy = django_filters.ChoiceFilter(
        choices=[(k, k) for k in SORT_FIELDS], method="filter_noop"
    )
    sortOrder = django_filters.ChoiceFilter(
        choices=[("asc", "asc"), ("desc", "desc")], method="filter_noop"
    )

    class Meta:
        model = Conversation
        fields: list[str] = []

    def __init__(self, *args, workspace: Workspace, me: User | None = None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.me = me

    def filter_assignee(self, queryset, name, value):  # type: ignore[no-untyped-def]
        if value == ASSIGNEE_NONE:
            return queryset.filter(assignee__isnull=True)
        if value == ASSIGNEE_ME:
            if self.me is None:
                raise ValidationFailed(ME_NEEDS_AGENT_TOKEN, field="assigneeId")
            return queryset.filter(assignee=self.me)
        return queryset.filter(assignee__public_id=value)

    def filter_search(self, queryset, name, value):  # type: ignore[no-untyped-def]
        value = value.strip()
        if not value:
            return queryset
        # Message text through the shared search (full-text on PostgreSQL), as a
        # subquery of the page query; private notes count, as in GET /messages.
        matching_messages = search_messages(
            Message.objects.filter(workspace=self.workspace, deleted_at__isnull=True),
            value,
        ).values("conversation_id")
        return queryset.filter(
            Q(contact__name__icontains=value)
            | Q(contact__phone__icontains=value)
            | Q(contact__email__icontains=value)
            | Q(pk__in=matching_messages)
        )

    def filter_tag(self, queryset, name, value):  # type: ignore[no-untyped-def]
        return with_tag(queryset, value.strip()) if value.strip() else queryset

    def filter_noop(self, queryset, name, value):  # type: ignore[no-untyped-def]
        return queryset  # applied in `ordering()` so the sort always has a tiebreaker

    def ordering(self) -> list[OrderBy]:
        sort_by = self.form.cleaned_data.get("sortBy") or "updatedAt"
        descending = self.form.cleaned_data.get("sortOrder") != "asc"
        key = {
            "updatedAt": F("updated_at"),
            "createdAt": F("created_at"),
            # Conversations without messages yet go last either way.
            "lastMessageAt": F("last_message_at"),
            "priority": PRIORITY_RANK,
        }[sort_by]
        if descending:
            return [key.desc(nulls_last=True), F("id").desc()]
        return [key.asc(nulls_last=True), F("id").asc()]
