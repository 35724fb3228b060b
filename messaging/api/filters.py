"""Query filters of `GET /messages` (django-filter), with the contract's names."""

from __future__ import annotations

import django_filters

from channels_app.models import Channel
from inbox.models import Workspace
from messaging.models import Conversation, Message
from messaging.selectors import search_messages

SORT_FIELDS = {
    "createdAt": "created_at",
    "sentAt": "sent_at",
    "deliveredAt": "delivered_at",
    "readAt": "read_at",
    "status": "status",
}


class MessageFilter(django_filters.FilterSet):
    conversationId = django_filters.CharFilter(method="filter_conversation", max_length=40)
    channelId = django_filters.CharFilter(method="filter_channel", max_length=40)
    direction = django_filters.ChoiceFilter(choices=Message.Direction.choices)
    status = django_filters.ChoiceFilter(choices=Message.Status.choices)
    contentType = django_filters.ChoiceFilter(
        field_name="content_type", choices=Message.ContentType.choices
    )
    startDate = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    endDate = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    sortBy = django_filters.ChoiceFilter(
        choices=[(k, k) for k in SORT_FIELDS], method="filter_noop"
    )
    sortOrder = django_filters.ChoiceFilter(
        choices=[("asc", "asc"), ("desc", "desc")], method="filter_noop"
    )

    class Meta:
        model = Message
        fields: list[str] = []

    # Resolving the public id to a key first lets the planner see which
    # conversation it is and walk `msg_thread`; a join on public_id made it
    # bitmap-scan the whole of a 50,000-message conversation
    # (bench/messages_api.py). The queryset is already scoped to the
    # workspace, so a foreign id matches nothing.
    def __init__(self, *args, workspace: Workspace, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.workspace = workspace

    def filter_conversation(self, queryset, name, value):  # type: ignore[no-untyped-def]
        pk = (
            Conversation.objects.filter(workspace=self.workspace, public_id=value)
            .values_list("pk", flat=True)
            .first()
        )
        return queryset.filter(conversation_id=pk) if pk else queryset.none()

    def filter_channel(self, queryset, name, value):  # type: ignore[no-untyped-def]
        pk = (
            Channel.objects.filter(workspace=self.workspace, public_id=value)
            .values_list("pk", flat=True)
            .first()
        )
        return queryset.filter(channel_id=pk) if pk else queryset.none()

    def filter_search(self, queryset, name, value):  # type: ignore[no-untyped-def]
        return search_messages(queryset, value)

    def filter_noop(self, queryset, name, value):  # type: ignore[no-untyped-def]
        return queryset  # applied in `ordering()` so the sort always has a tiebreaker

    def ordering(self) -> list[str]:
        field = SORT_FIELDS[self.form.cleaned_data.get("sortBy") or "createdAt"]
        prefix = "" if self.form.cleaned_data.get("sortOrder") == "asc" else "-"
        return [f"{prefix}{field}", f"{prefix}id"]
