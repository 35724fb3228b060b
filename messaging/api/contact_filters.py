"""Query filters of `GET /contacts` (django-filter), with the contract's names."""

from __future__ import annotations

import django_filters
from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from channels_app.models import Channel
from messaging.models import Contact, ContactIdentifier

SORT_FIELDS = {
    "createdAt": "created_at",
    "name": "name",
    "updatedAt": "updated_at",
}
# Without `sortOrder`, names read A to Z and dates newest first.
DEFAULT_ORDER = {"createdAt": "desc", "name": "asc", "updatedAt": "desc"}


def with_tag(queryset: QuerySet[Contact], tag: str) -> QuerySet[Contact]:
    """Contacts whose `tags` list holds exactly `tag`."""
    if connection.vendor == "postgresql":
        return queryset.filter(tags__contains=[tag])  # jsonb @>
    # SQLite has no JSON containment lookup in Django; json_each lists the
    # array's elements. The tag is a bound parameter and the table name a
    # constant of our model (Contact is the query's base), so nothing of the
    # request reaches the SQL text.
    table = Contact._meta.db_table
    return queryset.filter(
        RawSQL(  # noqa: S611
            f'EXISTS (SELECT 1 FROM json_each("{table}"."tags") WHERE json_each.value = %s)',  # noqa: S608
            (tag,),
            output_field=BooleanField(),
        )
    )


class ContactFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    channelType = django_filters.ChoiceFilter(
        choices=Channel.Type.choices, method="filter_channel_type"
    )
    tag = django_filters.CharFilter(method="filter_tag", max_length=64)
    startDate = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    endDate = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    sortBy = django_filters.ChoiceFilter(
        choices=[(k, k) for k in SORT_FIELDS], method="filter_noop"
    )
    sortOrder = django_filters.ChoiceFilter(
        choices=[("asc", "asc"), ("desc", "desc")], method="filter_noop"
    )

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_search(self, queryset, name, value):  # type: ignore[no-untyped-def]
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(phone__icontains=value) | Q(email__icontains=value)
        )

    def filter_channel_type(self, queryset, name, value):  # type: ignore[no-untyped-def]
        # EXISTS rather than a join: a join would repeat a contact per
        # identifier and inflate the conversation count annotation.
        return queryset.filter(
            Exists(ContactIdentifier.objects.filter(contact=OuterRef("pk"), channel_type=value))
        )

    def filter_tag(self, queryset, name, value):  # type: ignore[no-untyped-def]
        return with_tag(queryset, value)

    def filter_noop(self, queryset, name, value):  # type: ignore[no-untyped-def]
        return queryset  # applied in `ordering()` so the sort always has a tiebreaker

    def ordering(self) -> list[str]:
        sort_by = self.form.cleaned_data.get("sortBy") or "createdAt"
        order = self.form.cleaned_data.get("sortOrder") or DEFAULT_ORDER[sort_by]
        prefix = "-" if order == "desc" else ""
        return [f"{prefix}{SORT_FIELDS[sort_by]}", f"{prefix}id"]
