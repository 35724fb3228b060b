"""The conversation list (`/inbox/`) and its bulk actions (`/inbox/bulk/`).

Every filter lives in the query string (`tab`, `status`, `channel`, `label`,
`priority`, `sort`, `q`), so a view can be bookmarked and shared; unknown
values fall back to the defaults rather than erroring, because a bookmark
outlives the options it was made with. The same URL answers three ways:

* a navigation gets the whole page;
* an htmx request gets `#list-region` only (tabs with counts, result
  messages, bulk bar, rows), which the filter form and the tabs swap in;
* an htmx request with `cursor` gets the next rows only, which the
  "Load more" item appends in place of itself (infinite scroll).

Reads go through `messaging.selectors` (one counts query for the three tabs,
one keyset page query); bulk actions call the conversation services one
conversation at a time, inside the agent's workspace only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from channels_app.selectors import channels_for
from inbox.errors import DomainError, ValidationFailed
from inbox.models import User
from inbox.ui.context import inbox_view, is_htmx, render_inbox
from messaging.models import Conversation
from messaging.selectors import (
    INBOX_SORTS,
    INBOX_STATUSES,
    INBOX_TABS,
    InboxFilters,
    agents_for,
    conversations_for,
    decode_inbox_cursor,
    encode_inbox_cursor,
    get_agent_for,
    inbox_conversations,
    inbox_page,
    inbox_tab,
    inbox_tab_counts,
)
from messaging.services import (
    assign_conversation,
    close_conversation,
    reopen_conversation,
    update_conversation,
)

PAGE_SIZE = 25
# Most conversations one bulk action touches; each is its own service call.
MAX_BULK = 100
MAX_SEARCH = 200
MAX_LABEL = 64
DEFAULT_TAB = "mine"
DEFAULT_STATUS = Conversation.Status.OPEN
DEFAULT_SORT = "activity"
ANY_STATUS = "all"

TAB_LABELS = {"mine": "Mine", "unassigned": "Unassigned", "all": "All"}
SORT_LABELS = {
    "activity": "Last activity",
    "waiting": "Oldest waiting",
    "created": "Newest created",
    "priority": "Priority",
}


@dataclass(frozen=True)
class ListParams:
    """The list's state as read from (and written back to) the query string."""

    tab: str = DEFAULT_TAB
    filters: InboxFilters = field(default_factory=InboxFilters)
    cursor: str = ""

    @classmethod
    def from_query(cls, query: QueryDict) -> ListParams:
        def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
            value = (query.get(name) or "").strip()
            return value if value in allowed else default

        status = choice("status", (*INBOX_STATUSES, ANY_STATUS), DEFAULT_STATUS)
        priority = (query.get("priority") or "").strip()
        return cls(
            tab=choice("tab", INBOX_TABS, DEFAULT_TAB),
            filters=InboxFilters(
                status=None if status == ANY_STATUS else status,
                channel=(query.get("channel") or "").strip()[:40] or None,
                label=(query.get("label") or "").strip()[:MAX_LABEL] or None,
                priority=priority if priority in Conversation.Priority.values else None,
                q=(query.get("q") or "").strip()[:MAX_SEARCH],
                sort=choice("sort", INBOX_SORTS, DEFAULT_SORT),
            ),
            cursor=(query.get("cursor") or "").strip()[:500],
        )

    @property
    def status_value(self) -> str:
        return self.filters.status or ANY_STATUS

    def query(self, **overrides: str) -> str:
        """The query string of this state (defaults left out), with `overrides`.

        The cursor is never carried over: a new tab or filter starts at the top.
        """
        f = self.filters
        values = {
            "tab": self.tab,
            "status": self.status_value,
            "channel": f.channel or "",
            "label": f.label or "",
            "priority": f.priority or "",
            "sort": f.sort,
            "q": f.q,
            "cursor": "",
        }
        values.update(overrides)
        defaults = {"tab": DEFAULT_TAB, "status": DEFAULT_STATUS, "sort": DEFAULT_SORT}
        kept = {k: v for k, v in values.items() if v and v != defaults.get(k)}
        return urlencode(kept)

    def url(self, **overrides: str) -> str:
        query = self.query(**overrides)
        base = reverse("inbox:list")
        return f"{base}?{query}" if query else base


def _list_context(request: HttpRequest, params: ListParams, *, counts: bool) -> dict[str, Any]:
    """The rows (one keyset page) and, unless only rows are wanted, the tab counts."""
    workspace, user = request.workspace, request.user
    filtered = inbox_conversations(workspace, params.filters)
    after = decode_inbox_cursor(params.filters.sort, params.cursor) if params.cursor else None
    rows, next_key = inbox_page(
        inbox_tab(filtered, params.tab, user),
        sort=params.filters.sort,
        after=after,
        limit=PAGE_SIZE,
    )
    next_url = (
        params.url(cursor=encode_inbox_cursor(params.filters.sort, next_key)) if next_key else ""
    )
    context: dict[str, Any] = {
        "params": params,
        "conversations": rows,
        "next_url": next_url,
        "paged": after is not None,
        "list_url": params.url(),
        "filters_query": params.query(),
        "htmx": is_htmx(request),
        "nav_current": "conversations",
    }
    if counts:
        tab_counts = inbox_tab_counts(filtered, user)
        context["tabs"] = [
            {
                "key": tab,
                "label": TAB_LABELS[tab],
                "count": tab_counts[tab],
                "url": params.url(tab=tab),
                "active": tab == params.tab,
            }
            for tab in INBOX_TABS
        ]
    return context


def render_list(request: HttpRequest, params: ListParams) -> HttpResponse:
    """The list as a full page, the `#list-region` fragment, or just the next rows."""
    if is_htmx(request) and params.cursor:
        return render_inbox(
            request,
            "inbox/conversations/_rows.html",
            _list_context(request, params, counts=False),
        )
    context = _list_context(request, params, counts=True)
    if is_htmx(request):
        response = render_inbox(request, "inbox/conversations/_list_region.html", context)
        _set_history(request, response, params.url())
        return response
    channels = list(channels_for(request.workspace).order_by("name", "pk"))
    context.update(
        channels=channels,
        # Sidebar shortcuts: the same view narrowed to one channel.
        channel_links=[(ch, params.url(channel=ch.public_id)) for ch in channels],
        agents=list(agents_for(request.workspace)),
        statuses=[(s.value, s.label) for s in Conversation.Status] + [(ANY_STATUS, "Any status")],
        priorities=list(Conversation.Priority.choices),
        sorts=list(SORT_LABELS.items()),
        reset_url=ListParams(tab=params.tab).url(),
    )
    return render_inbox(request, "inbox/conversations/list.html", context)


def _set_history(request: HttpRequest, response: HttpResponse, canonical: str) -> None:
    """Keep the address bar on the canonical URL of the view shown.

    The filter form and the tabs (`HX-Trigger` `filters` / `tab-*`) navigate:
    their view gets a history entry, under its canonical URL rather than the
    raw form serialisation. Anything else that reloads the region (a bulk
    action, a live refresh) only replaces the address when it differs, so it
    never piles up entries behind the back button.
    """
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    shown = current.path + (f"?{current.query}" if current.query else "")
    trigger = request.headers.get("HX-Trigger", "")
    navigating = trigger == "filters" or trigger.startswith("tab-")
    if shown == canonical:
        if navigating:
            response["HX-Push-Url"] = "false"  # same view: no duplicate entry
        return
    response["HX-Push-Url" if navigating else "HX-Replace-Url"] = canonical


@require_GET
@inbox_view
def conversation_list_view(request: HttpRequest) -> HttpResponse:
    return render_list(request, ListParams.from_query(request.GET))


# --- Bulk actions -------------------------------------------------------------


@dataclass
class BulkOutcome:
    done: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _plural(n: int, word: str = "conversation") -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _bulk_action(
    request: HttpRequest, action: str
) -> tuple[str, Callable[[Conversation], Conversation]]:
    """Validate the action and its argument once, before any conversation changes.

    Answers (summary verb, a function applying it to one conversation).
    """
    user: User = request.user
    post = request.POST
    if action == "assign_me":
        return "Assigned to you", lambda c: assign_conversation(
            conversation=c, assignee=user, by=user
        )
    if action == "assign":
        agent = get_agent_for(request.workspace, post.get("assignee") or "", field="assignee")
        return f"Assigned to {agent.name}", lambda c: assign_conversation(
            conversation=c, assignee=agent, by=user
        )
    if action == "unassign":
        return "Unassigned", lambda c: assign_conversation(conversation=c, assignee=None, by=user)
    if action == "close":
        return "Closed", lambda c: close_conversation(conversation=c, by=user)
    if action == "reopen":
        return "Reopened", lambda c: reopen_conversation(conversation=c, by=user)
    if action == "priority":
        priority = post.get("priority") or ""
        if priority not in Conversation.Priority.values:
            raise ValidationFailed("Choose a priority.", field="priority")
        label = Conversation.Priority(priority).label
        return f"Priority set to {label} on", lambda c: update_conversation(
            conversation=c, priority=priority, by=user
        )
    if action == "label":
        tag = (post.get("label") or "").strip()
        if not tag or len(tag) > MAX_LABEL:
            raise ValidationFailed(f"Enter a label of 1 to {MAX_LABEL} characters.", field="label")
        return f"Label “{tag}” added to", lambda c: update_conversation(
            conversation=c, tags=[*c.tags, tag], by=user
        )
    raise ValidationFailed("Choose an action.", field="action")


@require_POST
@inbox_view
def bulk_view(request: HttpRequest) -> HttpResponse:
    """Apply one action to the selected conversations, through the services.

    Ids outside the agent's workspace are never loaded (the lookup is scoped
    to it), so they count as "not found" exactly like unknown ones. A
    conversation the service refuses (closing a closed one) is skipped with
    the service's reason; the others still change.
    """
    # The list state to come back to: parsed, never used as a redirect target.
    params = ListParams.from_query(QueryDict(request.POST.get("filters") or ""))
    ids = list(dict.fromkeys(i.strip() for i in request.POST.getlist("ids") if i.strip()))
    try:
        if not ids:
            raise ValidationFailed("Select at least one conversation.", field="ids")
        if len(ids) > MAX_BULK:
            raise ValidationFailed(f"Select at most {MAX_BULK} conversations.", field="ids")
        verb, apply = _bulk_action(request, request.POST.get("action") or "")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        outcome = BulkOutcome()
        found = list(conversations_for(request.workspace).filter(public_id__in=ids))
        for conversation in found:
            try:
                apply(conversation)
            except DomainError as exc:
                outcome.skip(exc.message)
            else:
                outcome.done += 1
        if outcome.done:
            messages.success(request, f"{verb} {_plural(outcome.done)}.")
        for reason, n in outcome.skipped.items():
            messages.warning(request, f"Skipped {_plural(n)}: {reason}")
        missing = len(ids) - len(found)
        if missing:
            messages.warning(request, f"{_plural(missing)} not found.")
    if is_htmx(request):
        return render_list(request, replace(params, cursor=""))
    return redirect(params.url())
