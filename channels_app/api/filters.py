"""Query filters of `GET /channels` (django-filter), with the contract's names."""

from __future__ import annotations

import django_filters

from channels_app.models import Channel

SORT_FIELDS = {
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "name": "name",
    "type": "type",
    "status": "status",
}


class ChannelFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=Channel.Type.choices)
    status = django_filters.ChoiceFilter(choices=Channel.Status.choices)
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=200)
    sortBy = django_filters.ChoiceFilter(
        choices=[(k, k) for k in SORT_FIELDS], method="filter_noop"
    )
    sortOrder = django_filters.ChoiceFilter(
        choices=[("asc", "asc"), ("desc", "desc")], method="filter_noop"
    )

    class Meta:
        model = Channel
        fields: list[str] = []

    def filter_noop(self, queryset, name, value):  # type: ignore[no-untyped-def]
        return queryset  # applied in `ordering()` so the sort always has a tiebreaker

    def ordering(self) -> list[str]:
        field = SORT_FIELDS[self.form.cleaned_data.get("sortBy") or "createdAt"]
        prefix = "" if self.form.cleaned_data.get("sortOrder") == "asc" else "-"
        return [f"{prefix}{field}", f"{prefix}id"]
