"""Run a list endpoint's FilterSet: errors in the envelope, the contract's ordering."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import FilterSet

from inbox.errors import ValidationFailed


def filtered(filterset: FilterSet) -> QuerySet:
    """The filtered, ordered queryset, or 400 VALIDATION_ERROR naming each bad parameter.

    Filter sets of the API expose `ordering()` (sortBy/sortOrder with an id
    tiebreaker) so every list pages deterministically.
    """
    if not filterset.is_valid():
        details = [
            {"field": field, "message": " ".join(str(m) for m in messages)}
            for field, messages in filterset.errors.items()
        ]
        raise ValidationFailed(f"{details[0]['field']}: {details[0]['message']}", details=details)
    return filterset.qs.order_by(*filterset.ordering())
