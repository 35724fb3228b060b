"""Reads of the inbox app's own rows that pages need, scoped to a workspace.

The messaging domain's reads live in `messaging.selectors`; these are the
inbox's (canned responses), kept apart so either side can change alone.
"""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from inbox.errors import NotFound
from inbox.models import CannedResponse, Workspace

CANNED_SEARCH_LIMIT = 20


class CannedResponseNotFound(NotFound):
    code = "CANNED_RESPONSE_NOT_FOUND"
    default_message = "Canned response does not exist."


def canned_responses_for(workspace: Workspace) -> QuerySet[CannedResponse]:
    """A workspace's canned responses by shortcut: one query."""
    return CannedResponse.objects.filter(workspace=workspace).order_by("shortcut", "id")


def get_canned_response_for(workspace: Workspace, public_id: str) -> CannedResponse:
    """One canned response of `workspace`; another workspace's is missing, like an unknown id."""
    canned = (
        CannedResponse.objects.select_related("workspace")
        .filter(workspace=workspace, public_id=public_id)
        .first()
    )
    if canned is None:
        raise CannedResponseNotFound(f"Canned response {public_id} does not exist.")
    return canned


def search_canned_responses(
    workspace: Workspace, query: str, *, limit: int = CANNED_SEARCH_LIMIT
) -> list[CannedResponse]:
    """What the composer offers after `/query`: shortcut prefix matches first, then titles.

    A workspace has tens of these, not thousands; one query either way.
    """
    query = query.strip().removeprefix("/")
    rows = CannedResponse.objects.filter(workspace=workspace)
    if not query:
        return list(rows.order_by("shortcut", "id")[:limit])
    prefix = Q(shortcut__startswith=query.lower())
    rows = rows.filter(prefix | Q(title__icontains=query)).annotate(
        # Shortcut prefix matches are what the agent is typing: they come first.
        rank=Case(When(prefix, then=Value(0)), default=Value(1), output_field=IntegerField())
    )
    return list(rows.order_by("rank", "shortcut", "id")[:limit])
